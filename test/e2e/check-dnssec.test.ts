/**
 * The `dnssec` and `dane` checks against real DNSSEC: Knot signs the zones, Unbound validates them, all on
 * loopback. `dnssec.test` is a trust island (Unbound's trust anchor is its DS); below it:
 * - `secure.dnssec.test`: signed, DS published → secure; its MX host's TLSA matches the lab receiver
 *   (and `stale.` / `ta.` beside it: a TLSA for another key; only a DANE-TA record);
 * - `bogus.dnssec.test`: signed, but the parent's DS names a key the zone never had → bogus at the DS;
 * - `badsig.dnssec.test`: signed, DS published, then the RRSIG over its MX damaged → bogus at the signature;
 * - `unsigned.dnssec.test`: no keys, no DS → insecure.
 * The children are signed by a first Knot (which writes them out with their DS); a second Knot serves them
 * as written (one signature altered) and signs the parent, which now carries the children's DS.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CheckContext, CheckOutput } from '../../src/check/context.js';
import { checkDane } from '../../src/check/checks/dane.js';
import type { DaneExchangeReport } from '../../src/check/checks/dane.js';
import { checkDnssec } from '../../src/check/checks/dnssec.js';
import type { DnssecNameReport } from '../../src/check/checks/dnssec.js';
import { createResolver } from '../../src/dns/resolver.js';
import type { Resolver } from '../../src/dns/resolver.js';
import { labCertificate } from '../../src/lab/certificate.js';
import { startReceiver } from '../../src/lab/smtp-receiver.js';
import type { Receiver } from '../../src/lab/smtp-receiver.js';
import { resolveRoute } from '../../src/mx/route.js';
import type { PhaseTimeouts, ProbeResult } from '../../src/smtp/probe.js';
import { probeSmtp } from '../../src/smtp/probe.js';
import { KNOT_SKIP_REASON, knotAvailable, startKnot } from '../helpers/knot.js';
import type { KnotServer } from '../helpers/knot.js';
import { UNBOUND_SKIP_REASON, startUnbound, unboundAvailable } from '../helpers/unbound.js';
import type { UnboundServer } from '../helpers/unbound.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/check-dnssec/', import.meta.url));
const PARENT = 'dnssec.test';
const CHILDREN = ['secure.dnssec.test', 'bogus.dnssec.test', 'badsig.dnssec.test', 'unsigned.dnssec.test'];
const FAST: PhaseTimeouts = { connectMs: 2000, greetingMs: 2000, commandMs: 2000, tlsMs: 2000 };

const skip = !knotAvailable() ? KNOT_SKIP_REASON : !unboundAvailable() ? UNBOUND_SKIP_REASON : false;

const sha256ds = (ds: readonly string[]) => {
  const d = ds.find((x) => x.split(/\s+/)[2] === '2');
  assert.ok(d, `a SHA-256 DS among ${ds.join(' | ')}`);
  return d;
};

// Flips one octet of the signature on the RRSIG that covers the apex MX RRset.
function damageMxSignature(zoneText: string, origin: string): string {
  const line = new RegExp(`^(${origin.replace(/\./g, '\\.')}\\.\\s+\\d+\\s+RRSIG\\s+MX\\s.*\\s)(\\S+)$`, 'm');
  assert.match(zoneText, line, 'the signed zone has an RRSIG over the MX');
  return zoneText.replace(line, (_m, head: string, sig: string) => {
    const bytes = Buffer.from(sig, 'base64');
    bytes[10] = bytes[10]! ^ 0xff;
    return head + bytes.toString('base64');
  });
}

describe('check dnssec + dane: Knot signs, Unbound validates', { skip }, () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let knot: KnotServer;
  let unbound: UnboundServer;
  let resolver: Resolver;
  const receivers = new Map<string, Receiver>();
  const childKeys: Record<string, { ds: string[] }> = {};

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mxray-check-dnssec-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    // The lab's mail hosts, each with its own certificate; the clean one's key goes into its TLSA record.
    const hosts: Array<[string, string]> = [
      ['127.0.21.1', 'mx.secure.dnssec.test'],
      ['127.0.21.2', 'mx-stale.secure.dnssec.test'],
      ['127.0.21.6', 'mx-ta.secure.dnssec.test'],
    ];
    const certs = await Promise.all(hosts.map(([, h]) => labCertificate([h])));
    for (const [i, [address, host]] of hosts.entries()) {
      const r = await startReceiver({ address, port: 0, hosts: [host], tls: certs[i]! });
      cleanups.push(() => r.close());
      receivers.set(address, r);
    }
    const spki = new X509Certificate(certs[0]!.cert).publicKey.export({ type: 'spki', format: 'der' });
    const tlsa = `3 1 1 ${createHash('sha256').update(spki).digest('hex').toUpperCase()}`;

    // First Knot: sign the children that are signed, and keep what it wrote.
    const write = async (name: string, text: string) => {
      const file = join(dir, `${name}.zone`);
      await writeFile(file, text);
      return file;
    };
    const fixture = (name: string) => readFile(join(FIXTURES, `${name}.zone`), 'utf8');
    const signer = await startKnot({
      zoneFiles: [
        await write('secure.dnssec.test', (await fixture('secure.dnssec.test')).replace('@TLSA@', tlsa)),
        join(FIXTURES, 'bogus.dnssec.test.zone'),
        join(FIXTURES, 'badsig.dnssec.test.zone'),
      ],
      dnssecSigning: true,
    });
    const signed = signer.dnssec;
    await signer.close();
    for (const [origin, z] of Object.entries(signed)) childKeys[origin] = { ds: z.ds };

    // Second Knot: the parent (signed now, with the DS of `secure` and `badsig`; `bogus` keeps its stale DS)
    // and the children as the first Knot wrote them.
    const parent =
      (await fixture(PARENT)) +
      `secure IN DS ${sha256ds(signed['secure.dnssec.test']!.ds)}\n` +
      `badsig IN DS ${sha256ds(signed['badsig.dnssec.test']!.ds)}\n`;
    knot = await startKnot({
      zoneFiles: [
        await write(PARENT, parent),
        await write('secure.dnssec.test', signed['secure.dnssec.test']!.signedZone),
        await write('bogus.dnssec.test', signed['bogus.dnssec.test']!.signedZone),
        await write(
          'badsig.dnssec.test',
          damageMxSignature(signed['badsig.dnssec.test']!.signedZone, 'badsig.dnssec.test'),
        ),
        join(FIXTURES, 'unsigned.dnssec.test.zone'),
      ],
      dnssecSigning: [PARENT],
    });
    cleanups.push(() => knot.close());

    const server = { host: knot.host, port: knot.port };
    unbound = await startUnbound({
      stubZones: [PARENT, ...CHILDREN].map((name) => ({ name, server })),
      trustAnchors: [`${PARENT}. DS ${sha256ds(knot.dnssec[PARENT]!.ds)}`],
    });
    cleanups.push(() => unbound.close());
    resolver = createResolver({ servers: [{ host: unbound.host, port: unbound.port }], timeoutMs: 2000, attempts: 1 });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function contextFor(domain: string): Promise<CheckContext> {
    const route = await resolveRoute(domain, { resolver, seed: 1 });
    const probes: ProbeResult[] = [];
    for (const h of route.hosts) {
      for (const address of h.addresses) {
        const r = receivers.get(address);
        if (!r) continue;
        probes.push(
          await probeSmtp({
            host: h.exchange,
            address,
            port: r.port,
            helo: 'probe.dnssec.test',
            starttls: true,
            timeouts: FAST,
          }),
        );
      }
    }
    return {
      domain,
      resolver,
      route,
      probes,
      smtp: { enabled: true, port: 25, helo: 'probe.dnssec.test', timeouts: FAST },
      authoritativePort: knot.port,
      httpsPort: 443,
      extraCa: [],
      blocklists: null,
      openRelay: false,
      now: Date.now(),
    };
  }

  const ids = (out: CheckOutput) => out.findings.map((f) => `${f.id} ${f.subject}`).sort();
  const names = (out: CheckOutput) => out.data.names as DnssecNameReport[];
  const exchanges = (out: CheckOutput) => out.data.exchanges as DaneExchangeReport[];
  const withLog = async (message: string) => `${message}\n--- unbound log ---\n${await unbound.log()}`;

  it('a signed domain with a matching TLSA: secure, nothing to report', async () => {
    const ctx = await contextFor('secure.dnssec.test');
    assert.equal(ctx.route.outcome, 'deliverable');
    const dnssec = await checkDnssec(ctx);
    assert.deepEqual(ids(dnssec), [], await withLog(JSON.stringify(dnssec.findings)));
    const [domain, mx] = names(dnssec);
    assert.equal(domain?.name, 'secure.dnssec.test');
    assert.equal(domain.secure, true);
    assert.deepEqual(
      domain.questions.map((q) => `${q.type} ${q.status}`),
      ['SOA secure', 'MX secure'],
    );
    assert.equal(domain.brokenAt, null);
    // Our key tag and DS digest agree with Knot's keymgr.
    const knotTag = Number(childKeys['secure.dnssec.test']!.ds[0]!.split(' ')[0]);
    assert.deepEqual(
      domain.dnskey?.keys.map((k) => k.keyTag),
      [knotTag],
    );
    assert.equal(domain.ds?.records.find((d) => d.digestType === 2)?.matchesKey, knotTag);
    assert.equal(mx?.name, 'mx.secure.dnssec.test');
    assert.equal(mx.secure, true);
    assert.equal(mx.zone, 'secure.dnssec.test');
    assert.equal(dnssec.data.resolverValidates, true);

    const dane = await checkDane(ctx);
    assert.deepEqual(ids(dane), []);
    const [x] = exchanges(dane);
    assert.equal(x?.secure, true);
    assert.equal(x.tlsaStatus, 'secure');
    assert.equal(x.matched, true);
    assert.equal(x.probes.length, 1);
    assert.deepEqual(x.probes[0]!.matchedRecords, [x.tlsa[0]!.text]);
  });

  it('a TLSA for a key the host no longer uses: dane.tlsa-mismatch (error)', async () => {
    const ctx = await contextFor('stale.secure.dnssec.test');
    assert.deepEqual(ids(await checkDnssec(ctx)), []);
    const dane = await checkDane(ctx);
    assert.deepEqual(ids(dane), ['dane.tlsa-mismatch mx-stale.secure.dnssec.test']);
    const f = dane.findings[0]!;
    assert.equal(f.severity, 'error');
    assert.match(f.message, /_25\._tcp\.mx-stale\.secure\.dnssec\.test/);
    assert.match(f.message, /3 1 1 5A6F8E1D/);
    assert.match(f.message, /Publish a TLSA record/);
    assert.equal(exchanges(dane)[0]?.matched, false);
    // The suggested record is the one that would match: the host's SPKI SHA-256.
    assert.equal(exchanges(dane)[0]?.probes[0]?.suggested, (f.evidence.suggested as string[])[0]);
  });

  it('only a DANE-TA record that is not the leaf: cannot be checked, so no finding', async () => {
    const dane = await checkDane(await contextFor('ta.secure.dnssec.test'));
    assert.deepEqual(ids(dane), []);
    const [x] = exchanges(dane);
    assert.equal(x?.matched, null);
    assert.match(x.probes[0]!.note ?? '', /DANE-TA/);
  });

  it('a DS naming a key the zone does not have: dnssec.bogus, broken at the DS', async () => {
    const ctx = await contextFor('bogus.dnssec.test');
    // Validating resolvers SERVFAIL the MX question, so a sender sees a temporary failure.
    assert.equal(ctx.route.outcome, 'temp-failure');
    const dnssec = await checkDnssec(ctx);
    assert.deepEqual(ids(dnssec), ['dnssec.bogus bogus.dnssec.test'], await withLog(JSON.stringify(dnssec.findings)));
    const f = dnssec.findings[0]!;
    assert.equal(f.severity, 'error');
    assert.match(f.message, /SERVFAIL/);
    assert.match(f.message, /DS 4711/);
    assert.match(f.message, /registrar/);
    const [n] = names(dnssec);
    assert.equal(n?.bogus, true);
    assert.equal(n.brokenAt, 'ds-mismatch');
    assert.equal(n.ds?.present, true);
    assert.deepEqual(
      n.ds?.records.map((d) => [d.keyTag, d.matchesKey]),
      [[4711, null]],
    );
    assert.equal(n.dnskey?.present, true);
    assert.deepEqual(
      n.dnskey?.keys.map((k) => k.keyTag),
      [Number(childKeys['bogus.dnssec.test']!.ds[0]!.split(' ')[0])],
    );
  });

  it('a damaged RRSIG over the MX: dnssec.bogus, broken at the signature', async () => {
    const ctx = await contextFor('badsig.dnssec.test');
    const dnssec = await checkDnssec(ctx);
    assert.deepEqual(ids(dnssec), ['dnssec.bogus badsig.dnssec.test'], await withLog(JSON.stringify(dnssec.findings)));
    const [n] = names(dnssec);
    assert.deepEqual(
      n?.questions.map((q) => `${q.type} ${q.status}`),
      ['SOA secure', 'MX bogus'],
    );
    assert.equal(n.brokenAt, 'signature');
    assert.match(n.explanation ?? '', /signature over badsig\.dnssec\.test MX: the RRSIG does not verify/);
    assert.ok(
      n.ds?.records.some((d) => d.matchesKey !== null),
      'the DS matches: the chain is sound down to the keys',
    );
    assert.deepEqual(dnssec.findings[0]!.evidence.types, ['MX']);
  });

  it('an unsigned zone: dnssec.unsigned (info), and its TLSA is ignored', async () => {
    const ctx = await contextFor('unsigned.dnssec.test');
    assert.equal(ctx.route.outcome, 'deliverable');
    const dnssec = await checkDnssec(ctx);
    assert.deepEqual(ids(dnssec), ['dnssec.unsigned unsigned.dnssec.test']);
    assert.equal(dnssec.findings[0]!.severity, 'info');
    assert.deepEqual(dnssec.findings[0]!.evidence.names, ['unsigned.dnssec.test', 'mx.unsigned.dnssec.test']);
    const [n] = names(dnssec);
    assert.equal(n?.secure, false);
    assert.equal(n.bogus, false);
    assert.equal(n.ds?.present, false);
    assert.equal(n.dnskey?.present, false);

    const dane = await checkDane(ctx);
    assert.deepEqual(ids(dane), []);
    const [x] = exchanges(dane);
    assert.equal(x?.secure, false);
    assert.equal(x.tlsaStatus, null);
    assert.match(x.note ?? '', /TLSA records are ignored \(RFC 7672 §2\.2\)/);
  });
});
