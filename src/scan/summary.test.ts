import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailRoute, RouteHost } from '../mx/route.js';
import type { ScanRecord } from './record.js';
import { errorRecord } from './record.js';
import { createScanSummary } from './summary.js';

const host = (preference: number, exchange: string): RouteHost => ({
  exchange,
  preference,
  addresses: ['127.0.0.1'],
  ipv4: ['127.0.0.1'],
  ipv6: [],
  canonical: null,
  error: null,
});

function record(
  line: number,
  domain: string,
  outcome: MailRoute['outcome'],
  hosts: RouteHost[],
  elapsedMs = 1,
): ScanRecord {
  return {
    ...errorRecord({ line, input: domain, domain }, ''),
    outcome,
    hosts,
    elapsedMs,
    error: null,
  };
}

describe('createScanSummary', () => {
  it('counts outcomes, errors, exchanges, providers and keeps the slowest', () => {
    const s = createScanSummary({ top: 2 });
    const google = [host(1, 'aspmx.l.google.com'), host(5, 'alt1.aspmx.l.google.com')];
    s.add(record(1, 'a.test', 'deliverable', google, 30));
    s.add(record(2, 'b.test', 'deliverable', google, 5));
    s.add(record(3, 'c.test', 'deliverable', [host(10, 'mx.c.test')], 50));
    s.add(record(4, 'd.test', 'temp-failure', [], 40));
    s.add(record(5, 'e.test', 'deliverable', [host(0, 'e.test')], 1));
    s.add(errorRecord({ line: 6, input: 'x..y' }, 'invalid'));
    const r = s.result();
    assert.equal(r.total, 6);
    assert.equal(r.errors, 1);
    assert.deepEqual(r.outcomes, {
      deliverable: 4,
      'null-mx': 0,
      'no-mail-route': 0,
      'no-domain': 0,
      'temp-failure': 1,
    });
    assert.deepEqual(r.topExchanges, [
      { exchange: 'alt1.aspmx.l.google.com', domains: 2 },
      { exchange: 'aspmx.l.google.com', domains: 2 },
    ]);
    assert.deepEqual(
      r.topProviders.map((p) => [p.provider, p.domains]),
      [['google-workspace', 2]],
    );
    assert.deepEqual(
      r.slowest.map((d) => [d.domain, d.line, d.elapsedMs]),
      [
        ['c.test', 3, 50],
        ['d.test', 4, 40],
      ],
    );
  });

  it('does not count the implicit MX (the domain itself) as an exchange', () => {
    const s = createScanSummary();
    s.add({ ...record(1, 'e.test', 'deliverable', [host(0, 'e.test')]), implicit: true });
    assert.deepEqual(s.result().topExchanges, []);
  });

  it('keeps the exchange table bounded and the shared exchanges on top over many one-off hosts', () => {
    const s = createScanSummary({ top: 3, maxExchanges: 100 });
    for (let i = 0; i < 5000; i++) {
      const hosts = [host(10, `mail.d${i}.test`)];
      if (i % 10 === 0) hosts.push(host(20, 'shared-a.test'));
      if (i % 20 === 0) hosts.push(host(20, 'shared-b.test'));
      if (i % 50 === 0) hosts.push(host(30, 'shared-c.test'));
      s.add(record(i + 1, `d${i}.test`, 'deliverable', hosts));
    }
    assert.deepEqual(s.result().topExchanges, [
      { exchange: 'shared-a.test', domains: 500 },
      { exchange: 'shared-b.test', domains: 250 },
      { exchange: 'shared-c.test', domains: 100 },
    ]);
  });
});
