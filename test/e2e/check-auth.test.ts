/**
 * The mail-authentication checks of `mxray check` (SPF RFC 7208, DMARC RFC 7489, MTA-STS RFC 8461, TLS-RPT
 * RFC 8460) against the lab: zones under test/fixtures/check-auth/ served on 127.0.20.53, MTA-STS policies
 * served over HTTPS on 127.0.20.80 with certificates from a test CA (trusted through `extraCa`) and one that
 * no CA signed. Every finding fires by id on its own domain; the clean domain gets none from these checks.
 */
import assert from 'node:assert/strict';
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { checkDmarc } from '../../src/check/checks/dmarc.js';
import { checkMtaSts } from '../../src/check/checks/mta-sts.js';
import { checkSpf } from '../../src/check/checks/spf.js';
import { checkTlsRpt } from '../../src/check/checks/tls-rpt.js';
import type { CheckContext, CheckOutput } from '../../src/check/context.js';
import { checkContext } from '../../src/check/context.js';
import type { Finding, FindingId } from '../../src/check/findings.js';
import type { Resolver } from '../../src/dns/resolver.js';
import type { KeyPair } from '../../src/lab/certificate.js';
import { labCa, labCertificate } from '../../src/lab/certificate.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { resolveRoute } from '../../src/mx/route.js';
import { fetchMtaStsPolicy, POLICY_MAX_BYTES } from '../../src/auth/mta-sts/fetch.js';
import { labResolver } from '../../src/testing/index.js';
import type { HttpsServer, Site } from '../helpers/https-server.js';
import { startHttpsServer } from '../helpers/https-server.js';

const DIR = fileURLToPath(new URL('../fixtures/check-auth/', import.meta.url));
const POLICY = (mx: string[], mode = 'enforce') =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 604800', ''].join('\r\n');

let lab: Lab;
let https: HttpsServer;
let ca: KeyPair;
let resolver: Resolver;
/** Accepts connections on 127.0.20.81 and never says a word. */
let silent: Server;
const held: Socket[] = [];

before(async () => {
  lab = await startLab({
    zones: ['auth.test.zone', 'org.test.zone', 'reports.test.zone'].map((f) => DIR + f),
    dns: { host: '127.0.20.53', port: 0 },
  });
  resolver = labResolver(lab);
  ca = await labCa('mxray check-auth test CA');
  const signed = (name: string) => labCertificate([name], { ca });
  const site = async (domain: string, response: Site['response']): Promise<[string, Site]> => [
    `mta-sts.${domain}`,
    { cert: await signed(`mta-sts.${domain}`), response },
  ];
  const sites = Object.fromEntries(
    await Promise.all([
      site('clean.auth.test', { body: POLICY(['mx1.clean.auth.test', '*.clean.auth.test']) }),
      site('sts-404.auth.test', { status: 404, body: 'not found\n' }),
      site('sts-redirect.auth.test', {
        status: 301,
        headers: { location: 'https://mta-sts.clean.auth.test/.well-known/mta-sts.txt' },
      }),
      site('sts-html.auth.test', { headers: { 'content-type': 'text/html' }, body: '<html>policy</html>' }),
      site('sts-badtxt.auth.test', { body: POLICY(['mx.auth.test']) }),
      site('sts-uncovered.auth.test', { body: POLICY(['*.sts-uncovered.auth.test']) }),
      site('fetch-big.auth.test', { body: 'x'.repeat(POLICY_MAX_BYTES + 1) }),
    ]),
  );
  sites['mta-sts.fetch-wrongname.auth.test'] = {
    cert: await signed('mta-sts.someone-else.auth.test'),
    response: { body: POLICY(['mx.auth.test']) },
  };
  // A certificate for the right name that no trusted CA signed.
  sites['mta-sts.sts-untrusted.auth.test'] = {
    cert: await labCertificate(['mta-sts.sts-untrusted.auth.test']),
    response: { body: POLICY(['mx.auth.test']) },
  };
  https = await startHttpsServer({ host: '127.0.20.80', sites, fallback: await signed('fallback.auth.test') });
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.20.81', resolve));
});

after(async () => {
  for (const socket of held) socket.destroy();
  await Promise.all([
    lab?.close(),
    https?.close(),
    new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve())),
  ]);
});

async function context(domain: string): Promise<CheckContext> {
  return checkContext({
    domain,
    resolver,
    route: await resolveRoute(domain, { resolver, seed: 1 }),
    authoritativePort: lab.dns.port,
    httpsPort: https.port,
    extraCa: [ca.cert],
  });
}

interface AuthReport {
  findings: Finding[];
  spf: CheckOutput['data'];
  dmarc: CheckOutput['data'];
  mtaSts: CheckOutput['data'];
  tlsRpt: CheckOutput['data'];
}

async function checkAuth(domain: string): Promise<AuthReport> {
  const ctx = await context(domain);
  const [spf, dmarc, mtaSts, tlsRpt] = await Promise.all([
    checkSpf(ctx),
    checkDmarc(ctx),
    checkMtaSts(ctx),
    checkTlsRpt(ctx),
  ]);
  return {
    findings: [...spf.findings, ...dmarc.findings, ...mtaSts.findings, ...tlsRpt.findings],
    spf: spf.data,
    dmarc: dmarc.data,
    mtaSts: mtaSts.data,
    tlsRpt: tlsRpt.data,
  };
}

const ids = (r: AuthReport) => r.findings.map((f) => f.id);

describe('check: the clean domain', () => {
  it('gets no SPF, DMARC, MTA-STS or TLS-RPT finding, and its data says why', async () => {
    const r = await checkAuth('clean.auth.test');
    assert.deepEqual(r.findings, [], JSON.stringify(r.findings, null, 2));
    assert.equal(r.spf.record, 'v=spf1 mx -all');
    assert.equal(r.spf.mxAuthorised, true);
    assert.deepEqual(
      (r.spf.mxHosts as { exchange: string; result: string }[]).map((h) => [h.exchange, h.result]),
      [
        ['mx1.clean.auth.test', 'pass'],
        ['mx2.clean.auth.test', 'pass'],
      ],
    );
    assert.deepEqual(r.dmarc.tags, {
      p: 'reject',
      sp: null,
      pct: 100,
      rua: ['mailto:dmarc@clean.auth.test', 'mailto:dmarc@reports.test'],
      ruf: [],
      adkim: 'r',
      aspf: 'r',
    });
    assert.deepEqual(
      (r.dmarc.destinations as { domain: string; authorization: string }[]).map((d) => [d.domain, d.authorization]),
      [
        ['clean.auth.test', 'internal'],
        ['reports.test', 'authorized'],
      ],
    );
    assert.deepEqual(r.mtaSts.coverage, [
      { exchange: 'mx1.clean.auth.test', pattern: 'mx1.clean.auth.test' },
      { exchange: 'mx2.clean.auth.test', pattern: '*.clean.auth.test' },
    ]);
    assert.equal((r.mtaSts.policy as { mode: string }).mode, 'enforce');
    assert.deepEqual(
      (r.tlsRpt.rua as { scheme: string }[]).map((d) => d.scheme),
      ['mailto', 'https'],
    );
    assert.ok(
      https.requests.some((q) => q.host === 'mta-sts.clean.auth.test' && q.servername === 'mta-sts.clean.auth.test'),
      'SNI and Host name the policy host, not the address',
    );
  });
});

describe('check: every mail-authentication finding fires on its own domain', () => {
  const cases: [string, FindingId, RegExp][] = [
    ['spf-none.auth.test', 'spf.none', /publishes no SPF record/],
    ['spf-multiple.auth.test', 'spf.multiple', /2 SPF records/],
    ['spf-syntax.auth.test', 'spf.syntax', /127\.0\.20\.300/],
    ['spf-lookups.auth.test', 'spf.too-many-lookups', /needs 11 DNS look-ups/],
    ['spf-void.auth.test', 'spf.void-lookups', /3 look-ups .* find nothing/],
    ['spf-plusall.auth.test', 'spf.permissive-all', /"\+all"/],
    ['spf-neutral.auth.test', 'spf.permissive-all', /"\?all"/],
    ['dmarc-none.auth.test', 'dmarc.none', /publishes no DMARC record/],
    ['dmarc-policy-none.auth.test', 'dmarc.policy-none', /p=none/],
    ['dmarc-syntax.auth.test', 'dmarc.syntax', /p=block is not a policy.*pct=200/],
    ['sub.org.test', 'dmarc.policy-none', /inherits the record of org\.test, whose sp=none/],
    ['sts-404.auth.test', 'mta-sts.policy-unreachable', /HTTP 404/],
    ['sts-redirect.auth.test', 'mta-sts.policy-unreachable', /301 redirecting .* do not follow redirects/],
    ['sts-untrusted.auth.test', 'mta-sts.policy-unreachable', /certificate .* is not accepted/],
    ['sts-html.auth.test', 'mta-sts.policy-unreachable', /text\/html, not text\/plain/],
    ['sts-badtxt.auth.test', 'mta-sts.policy-unreachable', /id=not-valid! must be/],
    ['sts-uncovered.auth.test', 'mta-sts.mx-not-covered', /deep\.mx\.sts-uncovered\.auth\.test is an MX/],
    ['tls-rpt-none.auth.test', 'tls-rpt.none', /no TLS-RPT record/],
  ];
  for (const [domain, id, message] of cases) {
    it(`${id} on ${domain}`, async () => {
      const r = await checkAuth(domain);
      const hit = r.findings.filter((f) => f.id === id);
      assert.ok(hit.length > 0, `${id} not among ${ids(r).join(', ')}`);
      assert.ok(
        hit.some((f) => message.test(f.message)),
        hit.map((f) => f.message).join('\n'),
      );
    });
  }

  it('mta-sts.mx-not-covered names each uncovered MX once: a wildcard covers one label only (RFC 8461 §4.1)', async () => {
    const r = await checkAuth('sts-uncovered.auth.test');
    assert.deepEqual(
      r.findings.filter((f) => f.id === 'mta-sts.mx-not-covered').map((f) => f.subject),
      ['deep.mx.sts-uncovered.auth.test', 'mx.auth.test'],
    );
  });
});

describe('check: what goes in data only', () => {
  it('says when the domain’s own MX host fails its SPF', async () => {
    const r = await checkAuth('spf-mx-fail.auth.test');
    assert.ok(!ids(r).some((id) => id.startsWith('spf.')), ids(r).join());
    assert.equal(r.spf.mxAuthorised, false);
    assert.match((r.spf.mxNotAuthorised as string[])[0] ?? '', /mx\.auth\.test \(127\.0\.20\.10\) gets "fail"/);
  });

  it('checks the authorization of external DMARC report destinations (RFC 7489 §7.1)', async () => {
    const r = await checkAuth('dmarc-external.auth.test');
    assert.deepEqual(
      (r.dmarc.destinations as { domain: string; authorization: string }[]).map((d) => [d.domain, d.authorization]),
      [
        ['reports.test', 'authorized'],
        ['other.reports.test', 'missing'],
      ],
    );
    assert.match(
      (r.dmarc.unauthorizedDestinations as string[])[0] ?? '',
      /dmarc-external\.auth\.test\._report\._dmarc\.other\.reports\.test/,
    );
  });

  it('puts a malformed TLS-RPT record’s error in data, without a finding', async () => {
    const r = await checkAuth('tls-rpt-bad.auth.test');
    assert.ok(!ids(r).includes('tls-rpt.none'));
    assert.match(String(r.tlsRpt.error), /neither mailto: nor https:/);
  });

  it('says present: false for a domain without MTA-STS, and raises only the info mta-sts.none for it', async () => {
    const r = await checkAuth('tls-rpt-none.auth.test');
    assert.equal(r.mtaSts.present, false);
    assert.deepEqual(
      ids(r).filter((id) => id.startsWith('mta-sts.')),
      ['mta-sts.none'],
    );
  });
});

describe('fetchMtaStsPolicy: what a sender would not accept (RFC 8461 §3.3)', () => {
  const silentPort = () => (silent.address() as { port: number }).port;
  const fetch = (domain: string, extra: Partial<Parameters<typeof fetchMtaStsPolicy>[1]> = {}) =>
    fetchMtaStsPolicy(domain, { resolver, port: https.port, extraCa: [ca.cert], ...extra });

  it('fetches a policy from the address DNS gives, checking the certificate against the policy host name', async () => {
    const f = await fetch('clean.auth.test');
    assert.equal(f.kind, 'fetched');
    assert.equal(f.kind === 'fetched' && f.address, '127.0.20.80');
    assert.equal(f.kind === 'fetched' && f.contentType, 'text/plain');
  });

  it('refuses a certificate for another name', async () => {
    const f = await fetch('fetch-wrongname.auth.test');
    assert.equal(f.kind, 'tls-failed');
    assert.equal(f.kind === 'tls-failed' && f.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('trusts the test CA only when told to', async () => {
    const f = await fetch('clean.auth.test', { extraCa: [] });
    assert.equal(f.kind, 'tls-failed');
  });

  it('stops at the size cap', async () => {
    const f = await fetch('fetch-big.auth.test');
    assert.equal(f.kind, 'too-large');
  });

  it('reports a host without an address, and a refused connection', async () => {
    assert.equal((await fetch('fetch-noaddr.auth.test')).kind, 'no-address');
    const refused = await fetch('fetch-refused.auth.test', { port: silentPort() });
    assert.equal(refused.kind, 'network');
    assert.equal(refused.kind === 'network' && refused.code, 'ECONNREFUSED');
  });

  it('gives a timeout outcome when the server stays silent, and throws the caller’s abort', async () => {
    const f = await fetch('fetch-slow.auth.test', { port: silentPort(), timeoutMs: 200 });
    assert.equal(f.kind, 'timeout');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 100);
    await assert.rejects(
      fetch('fetch-slow.auth.test', { port: silentPort(), timeoutMs: 5000, signal: controller.signal }),
      /interrupted/,
    );
  });
});
