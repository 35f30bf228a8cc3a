/**
 * The resolver against scripted servers on loopback: validation of every reply (RFC 5452 §9.1), TCP fallback
 * on truncation (RFC 7766 §5), retries across servers, outcomes as values, and a cache that cannot be poisoned.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import packet from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { fakeClock } from '../../src/core/clock.js';
import type { ResolverOptions } from '../../src/dns/resolver.js';
import { createResolver as createResolverBase } from '../../src/dns/resolver.js';
import { UdpPool } from '../../src/dns/transport/pool.js';
import type { ScriptedDns } from '../helpers/scripted-dns.js';
import { reply, startScriptedDns } from '../helpers/scripted-dns.js';

const SOA: Answer = {
  name: 'example.test',
  type: 'SOA',
  ttl: 3600,
  data: {
    mname: 'ns1.example.test',
    rname: 'admin.example.test',
    serial: 1,
    refresh: 1,
    retry: 1,
    expire: 1,
    minimum: 300,
  },
};
const mx = (pref: number, host: string, ttl = 600): Answer => ({
  name: 'example.test',
  type: 'MX',
  ttl,
  data: { preference: pref, exchange: host },
});

const servers: ScriptedDns[] = [];
async function server(script: Parameters<typeof startScriptedDns>[0]): Promise<ScriptedDns> {
  const s = await startScriptedDns(script);
  servers.push(s);
  return s;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const good = (q: DecodedPacket) => reply(q, [mx(10, 'mail1.example.test'), mx(20, 'mail2.example.test')]);

// Every test runs twice: with a fresh UDP socket per question (the default) and over a shared socket pool
// (what a scan uses). The pool's sockets are connected to the server, so the kernel itself drops datagrams from
// other sources, and a reply whose ID matches no query in flight cannot be told apart from a late one: the pool
// counts it (`stats.unmatched`) instead of listing it on a query.
for (const pooled of [false, true]) {
  const pool = pooled ? new UdpPool() : null;
  after(() => pool?.close());
  const createResolver = (options: ResolverOptions) => createResolverBase(pool ? { ...options, pool } : options);

  describe(`resolver over the wire (${pooled ? 'shared UDP pool' : 'a socket per question'})`, () => {
    it('decodes an answer, keeps TTLs, reports provenance', async () => {
      const s = await server((q) => [good(q)]);
      const r = createResolver({ servers: [s], timeoutMs: 500 });
      const o = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.equal(o.kind, 'answer');
      assert.ok(o.kind === 'answer');
      assert.deepEqual(
        o.records.map((x) => [x.ttl, x.data]),
        [
          [600, { preference: 10, exchange: 'mail1.example.test' }],
          [600, { preference: 20, exchange: 'mail2.example.test' }],
        ],
      );
      assert.equal(o.server, `127.0.0.1:${s.port}`);
      assert.equal(o.transport, 'udp');
      assert.equal(o.attempts, 1);
    });

    it('joins a question already in flight even when the cache does not keep it, and keeps nothing', async () => {
      const s = await server(async (q) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return [good(q)];
      });
      const r = createResolver({ servers: [s], timeoutMs: 500, cacheable: (q) => q.type !== 'MX' });
      const question = { name: 'example.test', type: 'MX' as const };
      const [a, b] = await Promise.all([r.resolve(question), r.resolve(question)]);
      assert.equal(s.queries.length, 1, 'one query for both callers');
      assert.equal(a.kind, 'answer');
      assert.equal(b.kind, 'answer');
      assert.deepEqual([a.cached, b.cached], [false, true]);
      await r.resolve(question);
      assert.equal(s.queries.length, 2, 'not kept once answered');
      assert.equal(r.cache.size, 0);
    });

    it('asks again a question it neither keeps nor joins (join: false), as a scan asks each domain its own MX', async () => {
      const s = await server(async (q) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return [good(q)];
      });
      const r = createResolver({
        servers: [s],
        timeoutMs: 500,
        cacheable: (q) => q.type !== 'MX',
        join: (q) => q.type !== 'MX',
      });
      const question = { name: 'example.test', type: 'MX' as const };
      const [a, b] = await Promise.all([r.resolve(question), r.resolve(question)]);
      assert.equal(s.queries.length, 2, 'a query for each caller');
      assert.deepEqual([a.kind, b.kind, a.cached, b.cached], ['answer', 'answer', false, false]);
      // Other questions are joined as before.
      const address = { name: 'example.test', type: 'A' as const };
      await Promise.all([r.resolve(address), r.resolve(address)]);
      assert.equal(s.queries.length, 3);
    });

    it('sends EDNS0 with a 1232-octet buffer and a random ID', async () => {
      const seen: DecodedPacket[] = [];
      const s = await server((q) => {
        seen.push(q);
        return [good(q)];
      });
      const r = createResolver({ servers: [s], timeoutMs: 500 });
      for (let i = 0; i < 8; i++) await r.query({ name: 'example.test', type: 'MX' });
      const opt = seen[0]!.additionals!.find((a) => a.type === 'OPT');
      assert.ok(opt && opt.type === 'OPT');
      assert.equal(opt.udpPayloadSize, 1232);
      assert.ok(new Set(seen.map((q) => q.id)).size >= 7, 'IDs should differ from query to query');
    });

    it('drops a reply with the wrong ID, one for another question, and malformed ones, then takes the right one', async () => {
      const s = await server((q, _t, raw) => {
        const right = good(q);
        const loop = Buffer.from(raw);
        // A question name that is a compression pointer to itself.
        const pointerLoop = Buffer.concat([loop.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 15, 0, 1])]);
        pointerLoop.writeUInt16BE(0x8400, 2);
        return [
          reply(q, [mx(1, 'evil.example')], { id: ((q.id ?? 0) + 1) & 0xffff }),
          reply(q, [], { question: { name: 'other.test', type: 'MX' } }),
          right.subarray(0, right.length - 7),
          pointerLoop,
          Buffer.from('garbage that is not DNS at all'),
          Buffer.from([0x01]),
          right,
        ];
      });
      const r = createResolver({ servers: [s], timeoutMs: 1000 });
      const o = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.equal(o.kind, 'answer');
      assert.ok(o.kind === 'answer');
      assert.deepEqual(
        o.records.map((x) => (x.data as { exchange: string }).exchange),
        ['mail1.example.test', 'mail2.example.test'],
      );
      if (pool) {
        // wrong ID, not DNS at all, one octet: no query in flight has those IDs
        assert.equal(o.dropped.length, 3, o.dropped.join('\n'));
        assert.match(o.dropped[0]!, /another question/);
        assert.ok(pool.stats.unmatched >= 3, `unmatched ${pool.stats.unmatched}`);
      } else {
        assert.equal(o.dropped.length, 6, o.dropped.join('\n'));
        assert.match(o.dropped[0]!, /wrong ID/);
        assert.match(o.dropped[1]!, /another question/);
      }
      assert.match(o.dropped.join('\n'), /bad pointer/);
    });

    it('drops a reply from another source port, then takes the real one', async () => {
      const spoofer = createSocket('udp4');
      await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.2', resolve));
      after(() => spoofer.close());
      const s = await server(async (q, _t, _raw, client) => {
        await new Promise<void>((resolve) =>
          spoofer.send(reply(q, [mx(1, 'evil.example')]), client.port, client.address, () => resolve()),
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
        return [good(q)];
      });
      const r = createResolver({ servers: [s], timeoutMs: 1000, attempts: 1 });
      const o = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.ok(o.kind === 'answer');
      assert.equal((o.records[0]!.data as { exchange: string }).exchange, 'mail1.example.test');
      if (pool) {
        // the connected socket never sees the forged datagram
        assert.equal(o.dropped.length, 0, o.dropped.join('\n'));
      } else {
        assert.equal(o.dropped.length, 1);
        assert.match(o.dropped[0]!, /unexpected source 127\.0\.0\.2:/);
      }
    });

    it('a server sending only garbage gives a timeout, and nothing bad is cached', async () => {
      let healthy = false;
      const s = await server((q) => [healthy ? good(q) : Buffer.from('\x00\x00garbage')]);
      const r = createResolver({ servers: [s], timeoutMs: 200, attempts: 2 });
      const started = Date.now();
      const o = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.equal(o.kind, 'timeout');
      assert.ok(Date.now() - started < 2000);
      assert.equal(o.attempts, 2);
      healthy = true;
      const again = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.equal(again.kind, 'answer');
      assert.equal(again.cached, false);
    });

    it('repeats a truncated UDP reply over TCP and gets the whole answer', async () => {
      const many = Array.from({ length: 40 }, (_, i) => mx(10 + i, `mx${i}.example.test`));
      const s = await server((q, transport) =>
        transport === 'udp'
          ? [reply(q, [], { flags: packet.AUTHORITATIVE_ANSWER | packet.TRUNCATED_RESPONSE })]
          : [reply(q, many)],
      );
      const r = createResolver({ servers: [s], timeoutMs: 1000 });
      const o = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.equal(o.kind, 'answer');
      assert.ok(o.kind === 'answer');
      assert.equal(o.records.length, 40);
      assert.equal(o.transport, 'tcp');
      assert.deepEqual(
        s.queries.map((q) => q.transport),
        ['udp', 'tcp'],
      );
    });

    it('uses TCP only when asked', async () => {
      const s = await server((q) => [good(q)]);
      const r = createResolver({ servers: [s], timeoutMs: 500, tcp: true });
      const o = await r.query({ name: 'example.test', type: 'MX' });
      assert.equal(o.kind, 'response');
      assert.deepEqual(
        s.queries.map((q) => q.transport),
        ['tcp'],
      );
    });

    it('returns NXDOMAIN and NODATA as values and caches them for the SOA minimum (RFC 2308 §5)', async () => {
      const s = await server((q) => [
        q.questions![0]!.name === 'gone.example.test'
          ? reply(q, [], { rcode: 'NXDOMAIN', authorities: [SOA] })
          : reply(q, [], { authorities: [SOA] }),
      ]);
      const clock = fakeClock(0);
      const r = createResolver({ servers: [s], timeoutMs: 500, clock });
      const nx = await r.resolve({ name: 'gone.example.test', type: 'MX' });
      assert.equal(nx.kind, 'nxdomain');
      const nodata = await r.resolve({ name: 'example.test', type: 'TXT' });
      assert.equal(nodata.kind, 'nodata');
      assert.equal((await r.resolve({ name: 'gone.example.test', type: 'MX' })).cached, true);
      assert.equal(s.queries.length, 2);
      clock.advance(301_000);
      assert.equal((await r.resolve({ name: 'gone.example.test', type: 'MX' })).cached, false);
      assert.equal(s.queries.length, 3);
    });

    it('serves a cached answer with aged TTLs and expires it on time', async () => {
      const s = await server((q) => [good(q)]);
      const clock = fakeClock(0);
      const r = createResolver({ servers: [s], timeoutMs: 500, clock });
      await r.resolve({ name: 'example.test', type: 'MX' });
      clock.advance(100_000);
      const hit = await r.resolve({ name: 'example.test', type: 'MX' });
      assert.ok(hit.kind === 'answer' && hit.cached);
      assert.equal(hit.records[0]!.ttl, 500);
      clock.advance(500_000);
      assert.equal((await r.resolve({ name: 'example.test', type: 'MX' })).cached, false);
      assert.equal(s.queries.length, 2);
    });

    it('asks once for concurrent questions about the same name', async () => {
      const s = await server(async (q) => {
        await new Promise((res) => setTimeout(res, 30));
        return [good(q)];
      });
      const r = createResolver({ servers: [s], timeoutMs: 500 });
      const all = await Promise.all(Array.from({ length: 5 }, () => r.resolve({ name: 'example.test', type: 'MX' })));
      assert.ok(all.every((o) => o.kind === 'answer'));
      assert.equal(s.queries.length, 1);
    });

    it('reports SERVFAIL and REFUSED as outcomes, and fails over to the next server', async () => {
      const bad = await server((q) => [reply(q, [], { rcode: 'SERVFAIL' })]);
      const refusing = await server((q) => [reply(q, [], { rcode: 'REFUSED', flags: 0 })]);
      const ok = await server((q) => [good(q)]);
      assert.equal(
        (await createResolver({ servers: [bad], timeoutMs: 300 }).resolve({ name: 'example.test', type: 'MX' })).kind,
        'servfail',
      );
      assert.equal(
        (await createResolver({ servers: [refusing], timeoutMs: 300 }).resolve({ name: 'example.test', type: 'MX' }))
          .kind,
        'refused',
      );
      const o = await createResolver({ servers: [bad, ok], timeoutMs: 300 }).resolve({
        name: 'example.test',
        type: 'MX',
      });
      assert.equal(o.kind, 'answer');
      assert.equal(o.server, `127.0.0.1:${ok.port}`);
      assert.equal(o.attempts, 2);
    });

    it('retries a silent server on the next one', async () => {
      const silent = await server(() => []);
      const ok = await server((q) => [good(q)]);
      const o = await createResolver({ servers: [silent, ok], timeoutMs: 200 }).resolve({
        name: 'example.test',
        type: 'MX',
      });
      assert.equal(o.kind, 'answer');
      assert.equal(o.attempts, 2);
    });

    it('follows a CNAME chain inside one answer and across responses, and detects loops', async () => {
      const s = await server((q) => {
        const name = q.questions![0]!.name;
        const type = q.questions![0]!.type;
        if (name === 'alias.example.test')
          return [
            reply(q, [
              { name, type: 'CNAME', ttl: 60, data: 'middle.example.test' },
              { name: 'middle.example.test', type: 'CNAME', ttl: 60, data: 'outside.example.net' },
            ]),
          ];
        if (name === 'outside.example.net')
          return [reply(q, [{ name, type: type as 'A', ttl: 60, data: '127.0.0.9' }])];
        if (name === 'loop1.example.test')
          return [reply(q, [{ name, type: 'CNAME', ttl: 60, data: 'loop2.example.test' }])];
        if (name === 'loop2.example.test')
          return [reply(q, [{ name, type: 'CNAME', ttl: 60, data: 'loop1.example.test' }])];
        return [reply(q, [], { rcode: 'NXDOMAIN', authorities: [SOA] })];
      });
      const r = createResolver({ servers: [s], timeoutMs: 500 });
      const o = await r.resolve({ name: 'alias.example.test', type: 'A' });
      assert.ok(o.kind === 'answer');
      assert.deepEqual(
        o.records.map((x) => x.data),
        ['127.0.0.9'],
      );
      assert.deepEqual(
        o.cnames.map((c) => `${c.name}>${c.target}`),
        ['alias.example.test>middle.example.test', 'middle.example.test>outside.example.net'],
      );
      const loop = await r.resolve({ name: 'loop1.example.test', type: 'A' });
      assert.equal(loop.kind, 'cname-loop');
    });

    it('gives a timeout within its budget when nothing answers', async () => {
      const silent = await server(() => []);
      const started = Date.now();
      const o = await createResolver({ servers: [silent], timeoutMs: 150, attempts: 2 }).resolve({
        name: 'example.test',
        type: 'MX',
      });
      const took = Date.now() - started;
      assert.equal(o.kind, 'timeout');
      assert.ok(took >= 280 && took < 1500, `took ${took} ms`);
    });

    it('throws the caller’s abort reason', async () => {
      const silent = await server(() => []);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop now')), 50);
      await assert.rejects(
        createResolver({ servers: [silent], timeoutMs: 5000 }).resolve(
          { name: 'example.test', type: 'MX' },
          { signal: controller.signal },
        ),
        /stop now/,
      );
    });
  });
}
