/**
 * The routes of a scan (scan/lane: the exchanges' facts kept once for all the domains that share them) against
 * `resolveRoute`, over the lab serving the route test world: every case of RFC 5321 §5.1 / RFC 7505 / RFC 2181
 * §10.3 must come out the same, on the first pass (facts being looked up) and the second (facts kept). Each
 * record's JSON line must be what `JSON.stringify` gives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { seededRng } from '../../src/core/random.js';
import type { Resolver } from '../../src/dns/resolver.js';
import { createResolver } from '../../src/dns/resolver.js';
import { UdpPool } from '../../src/dns/transport/pool.js';
import { TcpPool } from '../../src/dns/transport/tcp-pool.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import type { MailRoute } from '../../src/mx/route.js';
import { resolveRoute } from '../../src/mx/route.js';
import { renderScanJsonl, writeScanJsonl } from '../../src/report/scan.js';
import { createRouteLane } from '../../src/scan/lane.js';
import type { ScanRecord } from '../../src/scan/record.js';
import { scanDomains } from '../../src/scan/scan.js';

const ZONE = fileURLToPath(new URL('../fixtures/zones/mx.test.zone', import.meta.url));

/** Every owner name of the zone, and a few names it does not have. */
function namesOf(file: string): string[] {
  const owners = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const owner = /^([A-Za-z0-9_*@-][^\s;]*)\s/.exec(line)?.[1];
    if (!owner || owner.startsWith('$') || owner.includes('*')) continue;
    owners.add(owner === '@' ? 'mx.test' : `${owner.toLowerCase()}.mx.test`);
  }
  return [...owners, 'absent.mx.test', 'x.bulk.mx.test', 'mx.test'].filter((n, i, all) => all.indexOf(n) === i);
}

/** What a route says, without what depends on timing and on what was already known. */
function essence(r: MailRoute | ScanRecord): unknown {
  const { elapsedMs: _e, queries: _q, ...rest } = r as MailRoute;
  const { input: _i, line: _l, error: _err, ...route } = rest as MailRoute & Partial<ScanRecord>;
  return route;
}

describe('scan routes (scan/lane) against resolveRoute, over the lab', () => {
  let lab: Lab;
  const names = namesOf(ZONE);
  const resolver = (): Resolver =>
    createResolver({ servers: [lab.dns], timeoutMs: 1000, recursionDesired: false, cacheable: (q) => q.type !== 'MX' });
  before(async () => {
    lab = await startLab({ zones: [ZONE] });
  });
  after(async () => {
    await lab?.close();
  });

  // Without a pool each question goes through its own socket and promise; over a shared pool the scan takes the
  // callback path (`routeThen`, `resolveThen`, `exchangeThen`) end to end, which must give the same routes.
  for (const transport of ['own sockets', 'a UDP pool', 'a TCP pool'] as const) {
    it(`gives every domain the route resolveRoute gives, twice over, and JSON lines equal to JSON.stringify (${transport})`, async () => {
      assert.ok(names.length >= 20, `the zone has ${names.length} names`);
      const expectedRng = seededRng(5);
      const expected: unknown[] = [];
      for (let pass = 0; pass < 2; pass++) {
        for (const name of names)
          expected.push(essence(await resolveRoute(name, { resolver: resolver(), rng: expectedRng })));
      }
      // Concurrency 1: the domains draw from the generator in the same order as above.
      const records: ScanRecord[] = [];
      const pool = transport === 'a UDP pool' ? new UdpPool() : transport === 'a TCP pool' ? new TcpPool() : undefined;
      const scanning = createResolver({
        servers: [lab.dns],
        timeoutMs: 1000,
        recursionDesired: false,
        cacheable: (q) => q.type !== 'MX',
        join: (q) => q.type !== 'MX',
        ...(pool ? { pool } : {}),
      });
      for await (const r of scanDomains([...names, ...names], {
        resolver: scanning,
        rng: seededRng(5),
        concurrency: 1,
      })) {
        records.push(r);
      }
      assert.equal(records.length, expected.length);
      let plainLines = 0;
      records.forEach((r, i) => {
        assert.deepEqual(essence(r), expected[i], `${r.domain} (pass ${i < names.length ? 1 : 2})`);
        assert.equal(renderScanJsonl(r), JSON.stringify(r) + '\n', `${r.domain}: JSON line`);
        // The bytes written straight into the output for a plain route are the same line.
        const buf = Buffer.alloc(8192);
        const end = writeScanJsonl(r, buf, 0);
        if (end >= 0) {
          plainLines++;
          assert.equal(buf.toString('utf8', 0, end), JSON.stringify(r) + '\n', `${r.domain}: JSON line as bytes`);
        }
      });
      const outcomes = new Set(records.map((r) => r.outcome));
      for (const o of ['deliverable', 'null-mx', 'no-mail-route', 'no-domain']) assert.ok(outcomes.has(o as never), o);
      assert.ok(records.some((r) => r.implicit));
      assert.ok(records.some((r) => r.warnings.length > 0));
      assert.ok(plainLines > 0, 'some routes are written as bytes');
      if (pool) {
        assert.ok(pool.stats.sent >= names.length, `${pool.stats.sent} queries went through the pool`);
        assert.equal(pool.stats.inflight, 0);
        await pool.close();
      }
    });
  }

  it('asks each exchange once while its facts hold, again once they expire, and bounds the table', async () => {
    const base = resolver();
    const asked: string[] = [];
    // No peek: every question goes through resolve, where it is counted.
    const counting: Resolver = {
      servers: base.servers,
      cache: base.cache,
      query: (q, call) => base.query(q, call),
      resolve: (q, call) => {
        if (q.type !== 'MX') asked.push(`${q.name} ${q.type}`);
        return base.resolve(q, call);
      },
    };
    let clock = 0;
    const lane = createRouteLane({ resolver: counting, now: () => clock, rng: seededRng(1) });
    const route = (d: string) => lane.route(d);
    // Two domains at once on the same exchanges: one look-up each, shared.
    const [a, b] = await Promise.all([route('prio.mx.test'), route('prio.mx.test')]);
    assert.deepEqual(essence(a), essence(b));
    const once = asked.length;
    assert.ok(once > 0);
    assert.equal(new Set(asked).size, once, 'no exchange asked twice');
    const hits = lane.hits;
    await route('prio.mx.test');
    assert.equal(asked.length, once, 'kept facts are used');
    assert.ok(lane.hits > hits, 'and counted as hits');
    clock += 301_000; // past the zone's TTL of 300 s
    await route('prio.mx.test');
    assert.equal(asked.length, 2 * once, 'expired facts are asked again');

    asked.length = 0;
    const small = (d: string) => tiny.route(d);
    const tiny = createRouteLane({ resolver: counting, now: () => clock, maxExchanges: 1, rng: seededRng(1) });
    await small('prio.mx.test');
    const first = asked.length;
    await small('prio.mx.test');
    assert.ok(asked.length > first, 'a table of one cannot keep every exchange of prio.mx.test');
  });
});
