/**
 * `resolveRoute` (RFC 5321 §5.1, RFC 7505, RFC 2181 §10.3) against real authoritative servers on loopback:
 * the lab in-process and Debian's Knot, serving the same zone file. Both must give the same routes.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createResolver } from '../../src/dns/resolver.js';
import type { DnsServer } from '../../src/dns/types.js';
import { startLab } from '../../src/lab/index.js';
import { resolveRoute } from '../../src/mx/route.js';
import { knotAvailable, startKnot } from '../helpers/knot.js';
import { startScriptedDns } from '../helpers/scripted-dns.js';

const ZONE = fileURLToPath(new URL('../fixtures/zones/mx.test.zone', import.meta.url));

interface Served {
  server: DnsServer;
  close(): Promise<void>;
}

const implementations: [string, () => Promise<Served>, string | null][] = [
  [
    'the lab',
    async () => {
      const lab = await startLab({ zones: [ZONE] });
      return { server: lab.dns, close: () => lab.close() };
    },
    null,
  ],
  [
    'Knot',
    async () => {
      const knot = await startKnot({ zoneFiles: [ZONE] });
      return { server: { host: knot.host, port: knot.port }, close: () => knot.close() };
    },
    knotAvailable() ? null : 'knotd is not installed (apt-get install knot)',
  ],
];

for (const [label, start, skip] of implementations) {
  describe(`resolveRoute against ${label}`, { skip: skip ?? false }, () => {
    let served: Served;
    before(async () => {
      served = await start();
    });
    after(async () => {
      await served?.close();
    });
    const resolver = () => createResolver({ servers: [served.server], timeoutMs: 1000, recursionDesired: false });
    const route = (domain: string, extra: Partial<Parameters<typeof resolveRoute>[1]> = {}) =>
      resolveRoute(domain, { resolver: resolver(), seed: 1, ...extra });

    it('orders exchanges by preference (§5.1) and lists their addresses', async () => {
      const r = await route('prio.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.equal(r.implicit, false);
      assert.deepEqual(
        r.hosts.map((h) => [h.preference, h.exchange, h.addresses]),
        [
          [10, 'host-a.mx.test', ['127.0.3.1']],
          [20, 'host-b.mx.test', ['127.0.3.2']],
          [30, 'host-c.mx.test', ['::1', '127.0.3.3']],
        ],
      );
      assert.deepEqual(r.warnings, []);
      assert.equal(r.ttl, 300);
    });

    it('shuffles equal preferences on every call: each host comes first a fair share', async () => {
      const res = resolver();
      const firsts = new Map<string, number>();
      const rounds = 300;
      for (let i = 0; i < rounds; i++) {
        const r = await resolveRoute('equal.mx.test', { resolver: res });
        assert.equal(r.hosts.length, 3);
        firsts.set(r.hosts[0]!.exchange, (firsts.get(r.hosts[0]!.exchange) ?? 0) + 1);
      }
      assert.deepEqual([...firsts.keys()].sort(), ['e1.mx.test', 'e2.mx.test', 'e3.mx.test']);
      // Each share is 1/3; 60..140 of 300 is more than 5 standard deviations wide.
      for (const [host, n] of firsts) assert.ok(n > 60 && n < 140, `${host} came first ${n} times of ${rounds}`);
    });

    it('gives one order for one seed', async () => {
      const a = await route('equal.mx.test', { seed: 42 });
      const b = await route('equal.mx.test', { seed: 42 });
      assert.deepEqual(
        a.hosts.map((h) => h.exchange),
        b.hosts.map((h) => h.exchange),
      );
    });

    it('uses the domain itself as the implicit MX when it has only an address', async () => {
      const r = await route('implicit.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.equal(r.implicit, true);
      assert.deepEqual(
        r.hosts.map((h) => [h.preference, h.exchange, h.addresses]),
        [[0, 'implicit.mx.test', ['127.0.3.21']]],
      );
    });

    it('recognises the null MX (RFC 7505)', async () => {
      const r = await route('nullmx.mx.test');
      assert.equal(r.outcome, 'null-mx');
      assert.deepEqual(r.hosts, []);
    });

    it('ignores a null MX beside real ones, with a warning', async () => {
      const r = await route('nullmix.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.deepEqual(
        r.hosts.map((h) => h.exchange),
        ['host-a.mx.test'],
      );
      assert.match(r.warnings.join('\n'), /RFC 7505 §3/);
    });

    it('tells NXDOMAIN (no-domain) from a name without MX or address (no-mail-route)', async () => {
      assert.equal((await route('nowhere.mx.test')).outcome, 'no-domain');
      const r = await route('nomail.mx.test');
      assert.equal(r.outcome, 'no-mail-route');
      assert.match(r.reason ?? '', /neither an MX record nor an address/);
    });

    it('follows an exchange that is a CNAME, with a warning (RFC 2181 §10.3)', async () => {
      const r = await route('cname-mx.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.deepEqual(
        r.hosts.map((h) => [h.exchange, h.canonical, h.addresses]),
        [['alias.mx.test', 'host-a.mx.test', ['127.0.3.1']]],
      );
      assert.match(r.warnings.join('\n'), /alias\.mx\.test is a CNAME for host-a\.mx\.test/);
    });

    it('does not use an exchange written as an IP address', async () => {
      const r = await route('literal.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.deepEqual(
        r.hosts.map((h) => [h.exchange, h.addresses]),
        [
          ['127.0.0.5', []],
          ['host-b.mx.test', ['127.0.3.2']],
        ],
      );
      assert.match(r.warnings.join('\n'), /address literal/);
    });

    it('keeps an exchange without address in the list, with a warning', async () => {
      const r = await route('noaddr.mx.test');
      assert.deepEqual(
        r.hosts.map((h) => [h.exchange, h.addresses.length]),
        [
          ['ghost.mx.test', 0],
          ['host-b.mx.test', 1],
        ],
      );
      assert.match(r.warnings.join('\n'), /ghost\.mx\.test has no address/);
    });

    it('keeps a duplicate exchange once, at its best preference', async () => {
      const r = await route('dup.mx.test');
      assert.deepEqual(
        r.hosts.map((h) => [h.preference, h.exchange]),
        [
          [10, 'host-a.mx.test'],
          [30, 'host-b.mx.test'],
        ],
      );
      assert.match(r.warnings.join('\n'), /listed more than once/);
    });

    it('resolves an IPv6-only exchange', async () => {
      const r = await route('v6only.mx.test');
      assert.deepEqual(r.hosts[0]!.ipv6, ['::1']);
      assert.deepEqual(r.hosts[0]!.ipv4, []);
      assert.equal(r.outcome, 'deliverable');
    });

    it('takes Unicode and mixed case', async () => {
      const r = await route('BÜCHER.mx.TEST.');
      assert.equal(r.domain, 'xn--bcher-kva.mx.test');
      assert.equal(r.outcome, 'deliverable');
      assert.equal(r.hosts[0]!.exchange, 'host-a.mx.test');
    });

    it('reads a set of 40 MX records that only fits over TCP', async () => {
      const res = resolver();
      const raw = await res.query({ name: 'big.mx.test', type: 'MX' });
      assert.ok(raw.kind === 'response');
      assert.equal(raw.transport, 'tcp');
      assert.equal(raw.response.answers.length, 40);
      const r = await resolveRoute('big.mx.test', { resolver: res });
      assert.equal(r.hosts.length, 40);
      assert.deepEqual(
        r.hosts.map((h) => h.preference),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.ok(r.hosts.every((h) => h.addresses[0] === '127.0.3.40'));
    });

    it('never asks twice for one host within a route', async () => {
      const res = resolver();
      const r = await resolveRoute('dup.mx.test', { resolver: res });
      // MX, then A and AAAA for host-a and host-b: 5 questions.
      assert.equal(r.queries, 5);
      assert.equal(res.cache.misses, 5);
    });

    it('prunes the sender and every worse preference (§5.1 local-host rule)', async () => {
      const byName = await route('prio.mx.test', { as: ['HOST-B.mx.test'] });
      assert.deepEqual(
        byName.hosts.map((h) => h.exchange),
        ['host-a.mx.test'],
      );
      assert.deepEqual(byName.pruned, {
        matched: 'host-b.mx.test',
        preference: 20,
        dropped: ['host-b.mx.test', 'host-c.mx.test'],
      });
      const byAddress = await route('prio.mx.test', { as: ['127.0.3.3'] });
      assert.deepEqual(
        byAddress.hosts.map((h) => h.exchange),
        ['host-a.mx.test', 'host-b.mx.test'],
      );
      const best = await route('prio.mx.test', { as: ['host-a.mx.test'] });
      assert.equal(best.outcome, 'no-mail-route');
      assert.deepEqual(best.hosts, []);
      assert.match(best.reason ?? '', /best MX/);
    });
  });
}

describe('resolveRoute when DNS fails', () => {
  it('is a temp-failure within the timeout when the server does not answer', async () => {
    const silent = await startScriptedDns(() => []);
    after(() => silent.close());
    const started = Date.now();
    const r = await resolveRoute('example.test', {
      resolver: createResolver({ servers: [silent], timeoutMs: 200, attempts: 2 }),
    });
    const took = Date.now() - started;
    assert.equal(r.outcome, 'temp-failure');
    assert.match(r.reason ?? '', /no reply from 127\.0\.0\.1:\d+ within 200 ms/);
    assert.ok(took < 1500, `took ${took} ms`);
  });

  it('is a temp-failure on SERVFAIL', async () => {
    const { reply } = await import('../helpers/scripted-dns.js');
    const failing = await startScriptedDns((q) => [reply(q, [], { rcode: 'SERVFAIL', flags: 0 })]);
    after(() => failing.close());
    const r = await resolveRoute('example.test', { resolver: createResolver({ servers: [failing], timeoutMs: 200 }) });
    assert.equal(r.outcome, 'temp-failure');
    assert.match(r.reason ?? '', /SERVFAIL/);
  });

  it('refuses an invalid name before sending anything', async () => {
    const s = await startScriptedDns(() => []);
    after(() => s.close());
    await assert.rejects(
      resolveRoute('bad..name', { resolver: createResolver({ servers: [s] }) }),
      /invalid domain name "bad\.\.name": label 2 is empty/,
    );
    assert.equal(s.queries.length, 0);
  });
});
