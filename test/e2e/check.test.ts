/**
 * `mxray check` against the check world in the lab: every MX, reverse-DNS, nameserver, SMTP and blocklist
 * finding fires by id on its own domain, and the clean domain gets no error and no warning from them.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CheckReport } from '../../src/check/run.js';
import { checkDomain } from '../../src/check/run.js';
import { probeFindings } from '../../src/check/checks/smtp.js';
import { createResolver } from '../../src/dns/resolver.js';
import type { KeyPair } from '../../src/lab/certificate.js';
import { labCa, labCertificate } from '../../src/lab/certificate.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import type { ProbeResult } from '../../src/smtp/probe.js';
import { runCli } from '../helpers/cli.js';
import type { HttpsServer } from '../helpers/https-server.js';
import { startHttpsServer } from '../helpers/https-server.js';

const DIR = fileURLToPath(new URL('../fixtures/check/', import.meta.url));
const ZONES = ['check.test.zone', '40.0.127.in-addr.arpa.zone', 'mxray-lab-private.net.zone', 'split.test.zone'].map(
  (f) => DIR + f,
);
const TIMEOUTS = { connectMs: 1500, greetingMs: 1500, commandMs: 1500, tlsMs: 1500 };

let lab: Lab;
let stale: Lab;
let ca: KeyPair;
let policy: HttpsServer;

before(async () => {
  ca = await labCa();
  const signed = (hosts: string[], days = 90) => labCertificate(hosts, { ca, days });
  lab = await startLab({
    zones: ZONES,
    dns: { host: '127.0.41.1', port: 0 },
    smtp: {
      port: 0,
      faults: { 'down.smtp.check.test': 'down' },
      customize: async ({ hosts }) => {
        const h = hosts[0]!;
        if (h === 'notls.smtp.check.test') return { starttls: false };
        if (h === 'expired.smtp.check.test') return { tls: await signed(hosts, -2) };
        if (h === 'expiring.smtp.check.test') return { tls: await signed(hosts, 5) };
        if (h === 'badname.smtp.check.test') return { tls: await signed(['someone-else.check.test']) };
        if (h === 'selfsigned.smtp.check.test') return {};
        if (h === 'banner.smtp.check.test') return { tls: await signed(hosts), name: 'mail.elsewhere.test' };
        return { tls: await signed(hosts) };
      },
    },
  });
  // The clean domain's MTA-STS policy (RFC 8461 §3.3), over HTTPS with a certificate from the test CA.
  policy = await startHttpsServer({
    host: '127.0.40.80',
    sites: {
      'mta-sts.clean.check.test': {
        cert: await signed(['mta-sts.clean.check.test']),
        response: {
          headers: { 'content-type': 'text/plain' },
          body: 'version: STSv1\r\nmode: enforce\r\nmx: mx1.clean.check.test\r\nmx: mx2.clean.check.test\r\nmax_age: 604800\r\n',
        },
      },
    },
    fallback: await signed(['fallback.check.test']),
  });
  // The second nameserver of split.test lags behind: an older serial and MX set, on the same port.
  stale = await startLab({ zones: [DIR + 'stale/split.test.zone'], dns: { host: '127.0.41.2', port: lab.dns.port } });
});
after(async () => {
  await Promise.all([lab?.close(), stale?.close(), policy?.close()]);
});

async function check(domain: string, extra: Partial<Parameters<typeof checkDomain>[1]> = {}): Promise<CheckReport> {
  return checkDomain(domain, {
    resolver: createResolver({ servers: [lab.dns], timeoutMs: 1000, attempts: 2 }),
    smtp: { enabled: true, port: lab.smtp!.port, helo: 'checker.test', timeouts: TIMEOUTS },
    authoritativePort: lab.dns.port,
    httpsPort: policy.port,
    extraCa: [ca.cert],
    ...extra,
  });
}

const ids = (r: CheckReport) => r.findings.map((f) => f.id);

describe('check: MX, reverse DNS and nameservers', () => {
  it('gives a domain set up by the book no error and no warning, in any area', async () => {
    const r = await check('clean.check.test', { openRelay: false });
    const bad = r.findings.filter((f) => f.severity !== 'info');
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 2));
    // What is left is advice: the lab's zone is not signed.
    assert.deepEqual(
      r.findings.map((f) => f.id),
      ['dnssec.unsigned'],
    );
    assert.equal((r.sections['mta-sts'] as { policy?: { mode?: string } }).policy?.mode, 'enforce');
    assert.equal(r.errors.length, 0, JSON.stringify(r.errors));
    const smtp = r.sections.smtp as { probes: { tls: { certificate: { trusted: boolean } } }[] };
    assert.ok(
      smtp.probes.every((p) => p.tls.certificate.trusted),
      'the CA-signed certificates are trusted through --ca',
    );
  });

  const cases: [string, string, string][] = [
    ['nomx.check.test', 'mx.none', 'nomx.check.test'],
    ['nullmix.check.test', 'mx.null-with-others', 'nullmix.check.test'],
    ['single.check.test', 'mx.single', 'mx1.clean.check.test'],
    ['cname.check.test', 'mx.cname-target', 'alias.check.test'],
    ['literal.check.test', 'mx.ip-literal', '127.0.40.1'],
    ['noaddr.check.test', 'mx.no-address', 'ghost.check.test'],
    ['dup.check.test', 'mx.duplicate', 'mx1.clean.check.test'],
    ['shared.check.test', 'mx.shared-address', '127.0.40.3'],
    ['mxray-lab-private.net', 'mx.private-address', '127.0.40.1'],
    ['split.test', 'mx.nameservers-disagree', 'split.test'],
    ['ttl.check.test', 'mx.ttl-low', 'ttl.check.test'],
    ['wild.check.test', 'mx.wildcard', '*.wild.check.test'],
    ['noptr.check.test', 'mx.ptr-missing', '127.0.40.50'],
    ['badptr.check.test', 'mx.ptr-mismatch', '127.0.40.51'],
    ['gws.check.test', 'provider.deviation', 'gws.check.test'],
  ];
  for (const [domain, id, subject] of cases) {
    it(`${id} fires on ${domain}`, async () => {
      const r = await check(domain, { smtp: { enabled: false } });
      const f = r.findings.find((x) => x.id === id);
      assert.ok(f, `${id} not in ${ids(r).join(', ')}`);
      assert.equal(f.subject, subject);
      assert.ok(f.message.length > 40);
    });
  }

  it('does not flag loopback addresses of special-use (RFC 6761) domains as private', async () => {
    const r = await check('single.check.test', { smtp: { enabled: false } });
    assert.ok(!ids(r).includes('mx.private-address'));
  });
});

describe('check: SMTP', () => {
  let report: CheckReport;
  before(async () => {
    report = await check('smtp.check.test', { openRelay: true });
  });
  const cases: [string, string][] = [
    ['smtp.unreachable', 'down.smtp.check.test [127.0.40.70]'],
    ['smtp.no-starttls', 'notls.smtp.check.test [127.0.40.71]'],
    ['smtp.cert-expired', 'expired.smtp.check.test [127.0.40.72]'],
    ['smtp.cert-expiring', 'expiring.smtp.check.test [127.0.40.73]'],
    ['smtp.cert-name-mismatch', 'badname.smtp.check.test [127.0.40.74]'],
    ['smtp.cert-untrusted', 'selfsigned.smtp.check.test [127.0.40.75]'],
    ['smtp.banner-mismatch', 'banner.smtp.check.test [127.0.40.76]'],
    ['smtp.open-relay', 'banner.smtp.check.test [127.0.40.76]'],
  ];
  for (const [id, subject] of cases) {
    it(`${id} fires on ${subject}`, () => {
      const f = report.findings.filter((x) => x.id === id).map((x) => x.subject);
      assert.ok(f.includes(subject), `${id}: ${f.join(', ') || 'none'}`);
    });
  }

  it('flags TLS below 1.2 (smtp.tls-old) from the probe data', () => {
    const p = {
      host: 'old.test',
      address: '127.0.0.9',
      port: 25,
      connected: true,
      connectError: null,
      banner: { code: 220, text: 'old.test ESMTP' },
      ehlo: { code: 250, command: 'EHLO', extensions: ['STARTTLS'] },
      starttlsOffered: true,
      tls: { protocol: 'TLSv1', cipher: 'AES128-SHA', certificate: null, extensions: [] },
      timings: { connectMs: 1, greetingMs: 1, ehloMs: 1, tlsMs: 1, totalMs: 4 },
      transcript: [],
      error: null,
      phase: null,
    } satisfies ProbeResult;
    assert.deepEqual(
      probeFindings(p).map((f) => f.id),
      ['smtp.tls-old'],
    );
  });
});

describe('check: blocklists and the command', () => {
  it('blocklist.listed fires for a listed MX address', async () => {
    const r = await check('clean.check.test', { smtp: { enabled: false }, blocklists: ['bl.check.test'] });
    const f = r.findings.filter((x) => x.id === 'blocklist.listed');
    assert.deepEqual(
      f.map((x) => x.subject),
      ['127.0.40.1'],
    );
    assert.match(f[0]!.message, /listed for the mxray test/);
  });

  it('renders text, JSON, Markdown and HTML, and exits by --fail-on', async () => {
    const base = [
      'check',
      'noaddr.check.test',
      '--server',
      `127.0.41.1:${lab.dns.port}`,
      '--auth-port',
      String(lab.dns.port),
      '--no-smtp',
    ];
    const text = await runCli(base);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^noaddr\.check\.test: 1 error/);
    assert.match(
      text.stdout,
      /MX records\n {2}✖ mx\.no-address {2}ghost\.check\.test\n {6}MX 10 ghost\.check\.test has no address/,
    );
    const never = await runCli([...base, '--fail-on', 'never', '--format', 'json']);
    assert.equal(never.code, 0);
    const json = JSON.parse(never.stdout);
    assert.equal(json.domain, 'noaddr.check.test');
    assert.ok(json.route && Array.isArray(json.findings));
    for (const f of json.findings)
      assert.deepEqual(Object.keys(f).sort(), ['area', 'evidence', 'id', 'message', 'severity', 'subject']);
    const md = await runCli([...base, '--format', 'markdown']);
    assert.match(md.stdout, /^## noaddr\\\.check\\\.test/m);
    assert.match(md.stdout, /- ✖ \*\*error\*\* `mx\.no-address`/);
    const html = await runCli([...base, '--format', 'html']);
    assert.match(html.stdout, /^<!doctype html>/);
    assert.match(html.stdout, /<li class="error"><span class="mark">✖<\/span> <code>mx\.no-address<\/code>/);
    assert.doesNotMatch(html.stdout, /<script/);
  });

  it('exits 2 when the domain cannot be checked (its DNS does not answer)', async () => {
    const r = await runCli([
      'check',
      'example.test',
      '--server',
      '127.0.0.1:9',
      '--timeout',
      '0.3',
      '--tries',
      '1',
      '--no-smtp',
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /temporary failure/);
  });

  it('escapes what DNS says before it reaches HTML', async () => {
    const { renderCheckHtml } = await import('../../src/report/check.js');
    const r = await check('nomx.check.test', { smtp: { enabled: false } });
    r.findings[0]!.message = '<script>alert(1)</script>';
    const page = renderCheckHtml([r]);
    assert.ok(!page.includes('<script>'));
    assert.ok(page.includes('&lt;script&gt;'));
  });
});
