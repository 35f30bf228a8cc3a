/**
 * The SMTP probe against the lab's receivers and against hostile servers on loopback.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { labCertificate } from '../../src/lab/certificate.js';
import { startReceiver } from '../../src/lab/smtp-receiver.js';
import type { PhaseTimeouts } from '../../src/smtp/probe.js';
import { probeSmtp } from '../../src/smtp/probe.js';
import type { Hostility } from '../helpers/hostile-smtp.js';
import { startHostileSmtp } from '../helpers/hostile-smtp.js';

const FAST: PhaseTimeouts = { connectMs: 1000, greetingMs: 1000, commandMs: 1000, tlsMs: 1000 };

describe('probeSmtp against a lab receiver', () => {
  it('reads the greeting, EHLO, upgrades with STARTTLS and describes the certificate', async () => {
    const tls = await labCertificate(['mx1.probe.test']);
    const r = await startReceiver({ address: '127.0.7.1', port: 0, hosts: ['mx1.probe.test'], tls });
    after(() => r.close());
    const p = await probeSmtp({
      host: 'mx1.probe.test',
      address: '127.0.7.1',
      port: r.port,
      helo: 'prober.test',
      starttls: true,
      timeouts: FAST,
    });
    assert.equal(p.error, null, p.error ?? '');
    assert.equal(p.connected, true);
    assert.equal(p.banner?.code, 220);
    assert.match(p.banner.text, /mx1\.probe\.test/);
    assert.equal(p.ehlo?.command, 'EHLO');
    assert.ok(p.ehlo.extensions.includes('STARTTLS'));
    assert.equal(p.starttlsOffered, true);
    assert.match(p.tls!.protocol ?? '', /^TLSv1\.[23]$/);
    const cert = p.tls!.certificate!;
    assert.equal(cert.selfSigned, true);
    assert.equal(cert.trusted, false);
    assert.equal(cert.nameMatches, true);
    assert.deepEqual(cert.altNames, ['mx1.probe.test']);
    assert.ok(cert.daysLeft >= 89 && cert.daysLeft <= 90);
    assert.ok(!p.tls!.extensions.includes('STARTTLS'), 'STARTTLS is not offered again inside TLS');
    const lines = p.transcript.map((l) => `${l.dir}${l.tls ? '~' : ''} ${l.text}`);
    assert.ok(lines.includes('C STARTTLS'));
    assert.ok(lines.some((l) => l.startsWith('C~ EHLO prober.test')));
    assert.ok(lines.at(-1)!.startsWith('S~ 221'), lines.join('\n'));
    assert.ok(!lines.some((l) => /^C.? (MAIL|RCPT|DATA)/.test(l)), 'the probe never sends MAIL, RCPT or DATA');
  });

  it('says the certificate does not match another name, and skips TLS with --no-starttls', async () => {
    const tls = await labCertificate(['other.probe.test']);
    const r = await startReceiver({ address: '127.0.7.2', port: 0, hosts: ['mx2.probe.test'], tls });
    after(() => r.close());
    const p = await probeSmtp({
      host: 'mx2.probe.test',
      address: '127.0.7.2',
      port: r.port,
      helo: 'p.test',
      starttls: true,
      timeouts: FAST,
    });
    assert.equal(p.tls!.certificate!.nameMatches, false);
    const plain = await probeSmtp({
      host: 'mx2.probe.test',
      address: '127.0.7.2',
      port: r.port,
      helo: 'p.test',
      starttls: false,
      timeouts: FAST,
    });
    assert.equal(plain.tls, null);
    assert.equal(plain.starttlsOffered, true);
  });

  it('reports a 421 greeting (tempfail fault) and a refused connection (down)', async () => {
    const tls = await labCertificate(['mx3.probe.test']);
    const r = await startReceiver({ address: '127.0.7.3', port: 0, hosts: ['mx3.probe.test'], tls, fault: 'none' });
    after(() => r.close());
    await r.setFault('tempfail');
    const p = await probeSmtp({
      host: null,
      address: '127.0.7.3',
      port: r.port,
      helo: 'p.test',
      starttls: true,
      timeouts: FAST,
    });
    assert.equal(p.banner?.code, 421);
    assert.equal(p.phase, 'greeting');
    await r.setFault('down');
    const down = await probeSmtp({
      host: null,
      address: '127.0.7.3',
      port: r.port,
      helo: 'p.test',
      starttls: true,
      timeouts: FAST,
    });
    assert.equal(down.connected, false);
    assert.equal(down.connectError, 'refused');
    await r.setFault('none');
    const back = await probeSmtp({
      host: null,
      address: '127.0.7.3',
      port: r.port,
      helo: 'p.test',
      starttls: true,
      timeouts: FAST,
    });
    assert.equal(back.error, null);
  });
});

describe('probeSmtp against hostile servers', () => {
  const cases: [Hostility, RegExp][] = [
    ['never-greet', /^greeting: no complete reply within \d+ ms$/],
    ['trickle', /^greeting: no complete reply within \d+ ms$/],
    ['huge-line', /^greeting: a reply line longer than 4096 octets$/],
    ['endless-multiline', /^greeting: a multi-line reply of more than 200 lines$/],
    ['close-mid-reply', /^greeting: connection closed in the middle of a reply$/],
    ['garbage', /^greeting: not an SMTP reply line/],
  ];
  for (const [kind, want] of cases) {
    it(`ends with a clear error for a server that does "${kind}"`, async () => {
      const s = await startHostileSmtp(kind);
      after(() => s.close());
      const started = Date.now();
      const p = await probeSmtp({
        host: null,
        address: s.address,
        port: s.port,
        helo: 'p.test',
        starttls: true,
        timeouts: FAST,
      });
      assert.match(p.error ?? '', want);
      assert.equal(p.phase, 'greeting');
      assert.ok(Date.now() - started < 3000);
    });
  }
});
