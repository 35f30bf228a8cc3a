/**
 * The shared UDP pool and server health against scripted servers on loopback: many questions in flight over
 * few sockets matched by ID, the in-flight limit, time limits, aborts, closing, and a slow resolver getting
 * fewer questions. (The resolver's validation tests run over the pool too: resolver-wire.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Answer, DecodedPacket } from 'dns-packet';
import { isMxError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/random.js';
import { encodeQuery } from '../../src/dns/message.js';
import { createResolver } from '../../src/dns/resolver.js';
import { nativeDatagramIo } from '../../src/dns/transport/datagram.js';
import { UdpPool } from '../../src/dns/transport/pool.js';
import { TcpPool } from '../../src/dns/transport/tcp-pool.js';
import type { ExchangePool } from '../../src/dns/transport/bulk.js';
import type { DnsQuestion } from '../../src/dns/types.js';
import type { ScriptedDns } from '../helpers/scripted-dns.js';
import { reply, runToExit, startScriptedDns } from '../helpers/scripted-dns.js';
import { freePort } from '../helpers/ports.js';

const servers: ScriptedDns[] = [];
async function server(script: Parameters<typeof startScriptedDns>[0]): Promise<ScriptedDns> {
  const s = await startScriptedDns(script);
  servers.push(s);
  return s;
}
const pools: (UdpPool | TcpPool)[] = [];
function poolOf(options?: ConstructorParameters<typeof UdpPool>[0]): UdpPool {
  const p = new UdpPool(options);
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
});

/** An A answer that names the question, so a mix-up between queries shows. */
const addressOf = (q: DecodedPacket): Answer => {
  const n = Number(/^h(\d+)\./.exec(q.questions![0]!.name)?.[1] ?? 0);
  return { name: q.questions![0]!.name, type: 'A', ttl: 60, data: `127.9.${n >> 8}.${n & 255}` };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A full garbage collection (V8's gc(), made available for the call), after the current jobs have run. */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    await sleep(0);
    gc();
  }
}

function request(s: ScriptedDns, question: DnsQuestion, timeoutMs = 2000, signal?: AbortSignal) {
  const { id, bytes } = encodeQuery(question, { id: 0 });
  return { server: { host: s.host, port: s.port }, question, id, bytes, timeoutMs, signal };
}

// Every behaviour of the pool holds over both kinds of socket I/O: node:dgram, and the batched native module.
const ioKinds = ['dgram', 'native'] as const;
for (const io of ioKinds) {
  const native = nativeDatagramIo();
  describe(`UDP pool (${io} I/O)`, { skip: io === 'native' && !native.available ? native.reason : false }, () => {
    const pool = (options?: ConstructorParameters<typeof UdpPool>[0]) => poolOf({ io, ...options });
    it('uses the kind of I/O asked for', async () => {
      const s = await server((q) => [reply(q, [addressOf(q)])]);
      const p = pool();
      assert.equal((await p.exchange(request(s, { name: 'h1.example.test', type: 'A' }))).kind, 'response');
      assert.equal(p.ioKind, io);
    });

    it('matches 1,000 questions, 200 in flight over two sockets, to their replies sent back in random order', async () => {
      const rng = seededRng(5);
      const s = await server(async (q) => {
        await sleep(Math.floor(rng() * 30));
        return [reply(q, [addressOf(q)])];
      });
      // 200 in flight: the scripted server shares this process, and a larger burst overflows its socket buffer.
      const p = pool({ sockets: 2, maxInflight: 200 });
      const outcomes = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }))),
      );
      outcomes.forEach((o, i) => {
        assert.equal(o.kind, 'response', `question ${i}`);
        assert.ok(o.kind === 'response');
        assert.equal(o.response.answers[0]!.data, `127.9.${i >> 8}.${i & 255}`);
      });
      assert.equal(p.stats.sent, 1000);
      assert.equal(p.stats.answered, 1000);
      assert.equal(p.stats.inflight, 0);
    });

    it('sends a datagram again when no reply comes within the retransmission timeout, not only after the limit', async () => {
      // The server ignores the first copy of every question and answers the second.
      const seen = new Set<string>();
      const s = await server((q) => {
        const name = q.questions![0]!.name;
        if (!seen.has(name)) {
          seen.add(name);
          return [];
        }
        return [reply(q, [addressOf(q)])];
      });
      const p = pool({ sockets: 1 });
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }, 20_000))),
      );
      for (const o of outcomes) assert.equal(o.kind, 'response');
      assert.equal(p.stats.timedOut, 0);
      assert.equal(p.stats.resent, 20);
      assert.equal(p.stats.answered, 20);
    });

    it('backs its retransmission timeout off when a server grows slower, instead of sending every query twice', async () => {
      let delayMs = 0;
      const s = await server(async (q) => {
        await sleep(delayMs);
        return [reply(q, [addressOf(q)])];
      });
      const p = pool({ sockets: 1 });
      const ask = (i: number) => p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }, 5000));
      for (let i = 0; i < 20; i++) assert.equal((await ask(i)).kind, 'response'); // a quick server: a short timeout
      assert.equal(p.stats.resent, 0);
      delayMs = 300; // now slower than that timeout
      for (let i = 20; i < 30; i++) assert.equal((await ask(i)).kind, 'response');
      // The first slow replies are resent for; then the timeout has backed off, and the replies to datagrams sent
      // once set it from the new round trips. Without the back-off, every query would be sent two or three times.
      assert.ok(p.stats.resent <= 5, `${p.stats.resent} resent for 10 slow questions`);
      assert.equal(p.stats.timedOut, 0);
    });

    it('does not hold answered questions behind one that waits out its time limit', async () => {
      // The first question is never answered; 9,000 more are. Each is kept for its deadline only while unanswered.
      const s = await server((q) => (q.questions![0]!.name === 'h0.example.test' ? [] : [reply(q, [addressOf(q)])]));
      const p = pool({ maxInflight: 200 });
      const silent = p.exchange(request(s, { name: 'h0.example.test', type: 'A' }, 10_000));
      const outcomes = await Promise.all(
        Array.from({ length: 9000 }, (_, i) =>
          p.exchange(request(s, { name: `h${i + 1}.example.test`, type: 'A' }, 10_000)),
        ),
      );
      assert.equal(outcomes.filter((o) => o.kind === 'response').length, 9000);
      assert.equal(p.stats.inflight, 1);
      assert.ok(p.stats.deadlines < 4500, `${p.stats.deadlines} questions held for their deadline`);
      await p.close();
      assert.equal((await silent).kind, 'network');
    });

    it('lets go of an answered question’s outcome while an earlier one still waits out its limit', async () => {
      // The first question is never answered, so it holds the head of the time-limit queue (and the queue holds
      // every question sent after it): their outcomes must not be kept alive through it.
      const s = await server((q) => (q.questions![0]!.name === 'h0.example.test' ? [] : [reply(q, [addressOf(q)])]));
      const p = pool({ sockets: 1 });
      const silent = p.exchange(request(s, { name: 'h0.example.test', type: 'A' }, 10_000));
      // Made in a function of their own, so that no variable here holds the last one.
      const ask = async (i: number) => {
        const o = await p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }, 10_000));
        assert.ok(o.kind === 'response');
        return new WeakRef(o.response);
      };
      const refs: WeakRef<object>[] = [];
      for (let i = 1; i <= 20; i++) refs.push(await ask(i));
      await collectGarbage();
      assert.equal(p.stats.inflight, 1);
      assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'outcomes still reachable');
      await p.close();
      assert.equal((await silent).kind, 'network');
    });

    it('keeps at most maxInflight questions outstanding and queues the rest in order', async () => {
      let outstanding = 0;
      let most = 0;
      const s = await server(async (q) => {
        outstanding++;
        most = Math.max(most, outstanding);
        await sleep(10);
        outstanding--;
        return [reply(q, [addressOf(q)])];
      });
      const p = pool({ maxInflight: 4 });
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }))),
      );
      assert.ok(outcomes.every((o) => o.kind === 'response'));
      assert.ok(most <= 4, `${most} outstanding at once`);
      assert.equal(p.stats.queued, 0);
    });

    it('times out silent questions by their own limits, the shorter first', async () => {
      const s = await server(() => []);
      const p = pool();
      const started = Date.now();
      const ended: number[] = [];
      const long = p.exchange(request(s, { name: 'a.example.test', type: 'A' }, 600)).then((o) => {
        ended[0] = Date.now() - started;
        return o;
      });
      const short = p.exchange(request(s, { name: 'b.example.test', type: 'A' }, 150)).then((o) => {
        ended[1] = Date.now() - started;
        return o;
      });
      const [l, sh] = await Promise.all([long, short]);
      assert.equal(l.kind, 'timeout');
      assert.equal(sh.kind, 'timeout');
      assert.ok(ended[1]! >= 140 && ended[1]! < ended[0]!, `short ${ended[1]} ms, long ${ended[0]} ms`);
      assert.ok(ended[0]! >= 590, `long ${ended[0]} ms`);
      assert.equal(p.stats.timedOut, 2);
    });

    it('throws the caller’s abort reason and forgets the question', async () => {
      const s = await server(() => []);
      const p = pool();
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop now')), 30);
      await assert.rejects(
        p.exchange(request(s, { name: 'a.example.test', type: 'A' }, 5000, controller.signal)),
        /stop now/,
      );
      assert.equal(p.stats.inflight, 0);
    });

    it('ends questions in flight as network failures on close, and refuses new ones', async () => {
      const s = await server(() => []);
      const p = pool();
      const pending = p.exchange(request(s, { name: 'a.example.test', type: 'A' }, 5000));
      await sleep(20);
      await p.close();
      const o = await pending;
      assert.equal(o.kind, 'network');
      await assert.rejects(p.exchange(request(s, { name: 'a.example.test', type: 'A' })), (err) =>
        isMxError(err, 'MX_CLOSED'),
      );
    });

    it('turns a server the socket layer refuses into a network outcome, not a throw', async () => {
      const p = pool();
      const { id, bytes } = encodeQuery({ name: 'a.example.test', type: 'A' }, { id: 0 });
      const question = { name: 'a.example.test', type: 'A' as const };
      const o = await p.exchange({ server: { host: '127.0.0.1', port: 0 }, question, id, bytes, timeoutMs: 500 });
      assert.equal(o.kind, 'network');
      assert.ok(o.kind === 'network');
      assert.match(o.error, /port/i);
      assert.equal(p.stats.inflight, 0);
    });

    it('ends a question to a closed port as a network failure (the ICMP refusal), not by its time limit', async () => {
      const p = pool({ sockets: 1 });
      const port = await freePort();
      const { id, bytes } = encodeQuery({ name: 'a.example.test', type: 'A' }, { id: 0 });
      const question = { name: 'a.example.test', type: 'A' as const };
      const o = await p.exchange({ server: { host: '127.0.0.1', port }, question, id, bytes, timeoutMs: 60_000 });
      assert.equal(o.kind, 'network');
      assert.ok(o.kind === 'network');
      assert.match(o.error, /ECONNREFUSED/);
      assert.equal(p.stats.inflight, 0);
    });

    it('ends a burst of questions to a closed port as network failures, not by their time limit', async () => {
      const p = pool({ sockets: 1 });
      const port = await freePort();
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, (_, i) => {
          const question = { name: `h${i}.example.test`, type: 'A' as const };
          return p.exchange({
            server: { host: '127.0.0.1', port },
            question,
            ...encodeQuery(question, { id: 0 }),
            timeoutMs: 60_000,
          });
        }),
      );
      for (const o of outcomes) {
        assert.ok(o.kind === 'network', o.kind);
        assert.match(o.error, /ECONNREFUSED/);
      }
    });

    it('does not keep a process alive once its questions are answered', async () => {
      const s = await server((q) => [reply(q, [addressOf(q)])]);
      const r = await runToExit(
        `
      import { UdpPool } from './src/dns/transport/pool.ts';
      import { createResolver } from './src/dns/resolver.ts';
      const pool = new UdpPool({ io: '${io}' });
      const r = createResolver({ servers: [{ host: '127.0.0.1', port: PORT }], pool });
      const o = await r.resolve({ name: 'h7.example.test', type: 'A' });
      console.log(o.kind, o.transport, o.kind === 'answer' ? o.records[0].data : '', pool.ioKind);
    `,
        s.port,
      );
      assert.equal(r.code, 0, `the process did not exit by itself: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `answer udp 127.9.0.7 ${io}`);
    });
  });
}

const pool = poolOf;

describe('batched native I/O', () => {
  it('is built where it can be (Linux), so scans get it', () => {
    const native = nativeDatagramIo();
    if (process.platform === 'linux') assert.ok(native.available, `${native.reason}: run npm run build:native`);
    else assert.match(native.reason, /Linux only/);
  });

  it(
    'carries bursts larger than one system call takes, both ways (3,000 questions, 1,000 in flight)',
    {
      skip: nativeDatagramIo().available ? false : nativeDatagramIo().reason,
    },
    async () => {
      const s = await server((q) => [reply(q, [addressOf(q)])]);
      const p = pool({ io: 'native', sockets: 1, maxInflight: 1000 });
      const outcomes = await Promise.all(
        Array.from({ length: 3000 }, (_, i) =>
          p.exchange(request(s, { name: `h${i}.example.test`, type: 'A' }, 30_000)),
        ),
      );
      outcomes.forEach((o, i) => {
        assert.ok(o.kind === 'response', `question ${i}: ${o.kind}`);
        assert.equal(o.response.answers[0]!.data, `127.9.${i >> 8}.${i & 255}`);
      });
      assert.equal(p.ioKind, 'native');
      assert.equal(p.stats.answered, 3000);
    },
  );

  it(
    'refuses io native where the module cannot be used, and names why',
    { skip: nativeDatagramIo().available ? 'the native module is built here' : false },
    async () => {
      const p = pool({ io: 'native' });
      const { id, bytes } = encodeQuery({ name: 'a.example.test', type: 'A' }, { id: 0 });
      const question = { name: 'a.example.test', type: 'A' as const };
      const o = await p.exchange({ server: { host: '127.0.0.1', port: 53 }, question, id, bytes, timeoutMs: 500 });
      assert.ok(o.kind === 'network');
      assert.match(o.error, /not available/);
    },
  );
});

describe('server health over the wire', () => {
  it('sends most questions to the quick resolver when another is slow', async () => {
    const quick = await server((q) => [reply(q, [addressOf(q)])]);
    const slow = await server(async (q) => {
      await sleep(80);
      return [reply(q, [addressOf(q)])];
    });
    const r = createResolver({
      servers: [slow, quick].map((s) => ({ host: s.host, port: s.port })),
      pool: pool(),
      balance: 'health',
      rng: seededRng(9),
    });
    for (let i = 0; i < 150; i++) {
      const o = await r.resolve({ name: `h${i}.example.test`, type: 'A' });
      assert.equal(o.kind, 'answer');
    }
    assert.ok(quick.queries.length > 120, `quick ${quick.queries.length}, slow ${slow.queries.length}`);
    assert.ok(slow.queries.length >= 1);
  });

  it('moves away from a resolver that answers SERVFAIL', async () => {
    const good = await server((q) => [reply(q, [addressOf(q)])]);
    const failing = await server((q) => [reply(q, [], { rcode: 'SERVFAIL' })]);
    const r = createResolver({
      servers: [failing, good].map((s) => ({ host: s.host, port: s.port })),
      pool: pool(),
      balance: 'health',
      rng: seededRng(4),
    });
    for (let i = 0; i < 100; i++)
      assert.equal((await r.resolve({ name: `h${i}.example.test`, type: 'A' })).kind, 'answer');
    assert.ok(
      failing.queries.length < 30,
      `the failing resolver got ${failing.queries.length} of ${good.queries.length + failing.queries.length}`,
    );
  });
});

describe('limits shared by the UDP and TCP pools', () => {
  for (const Pool of [UdpPool, TcpPool]) {
    it(`${Pool.name}: a resolver asks through a pool that has only exchange (no exchangeThen)`, async () => {
      const s = await server((q) => [reply(q, [addressOf(q)])]);
      const real = new Pool();
      pools.push(real);
      const plain: ExchangePool = {
        transport: real.transport,
        stats: real.stats,
        exchange: (req) => real.exchange(req),
        close: () => real.close(),
      };
      const resolver = createResolver({ servers: [{ host: s.host, port: s.port }], pool: plain });
      const o = await resolver.resolve({ name: 'h7.example.test', type: 'A' });
      assert.equal(o.kind, 'answer');
      assert.deepEqual(o.kind === 'answer' && o.records.map((r) => r.data), ['127.9.0.7']);
    });

    it(`${Pool.name}: exchangeThen calls back once, never before it returns, as exchange settles`, async () => {
      const s = await server((q) => [reply(q, [addressOf(q)])]);
      const p = new Pool({ maxInflight: 2 });
      pools.push(p);
      type Call = { how: 'done' | 'fail'; value: unknown; returned: boolean };
      const then = (req: Parameters<typeof p.exchangeThen>[0]): Promise<Call> =>
        new Promise((resolve) => {
          let returned = false;
          p.exchangeThen(
            req,
            (value) => resolve({ how: 'done', value, returned }),
            (value) => resolve({ how: 'fail', value, returned }),
          );
          returned = true;
        });
      // Three at once over a limit of two: the third waits in line and is answered too.
      const calls = await Promise.all(
        [1, 2, 3].map((n) => then(request(s, { name: `h${n}.example.test`, type: 'A' }))),
      );
      calls.forEach((c, i) => {
        assert.equal(c.how, 'done');
        assert.ok(c.returned, 'called back after returning');
        const o = c.value as { kind: string; response?: { answers: { data: unknown }[] } };
        assert.equal(o.kind, 'response');
        assert.deepEqual(
          o.response!.answers.map((a) => a.data),
          [`127.9.0.${i + 1}`],
        );
      });
      const refused = await then({
        ...request(s, { name: 'h4.example.test', type: 'A' }),
        server: { host: '127.0.0.1', port: 70000 },
      });
      assert.equal(refused.how, 'done');
      assert.ok(refused.returned, 'a refused server is reported after returning too');
      assert.match((refused.value as { error: string }).error, /port/i);
      const aborted = await then(
        request(s, { name: 'h5.example.test', type: 'A' }, 2000, AbortSignal.abort(new Error('stop'))),
      );
      assert.equal(aborted.how, 'fail');
      assert.equal((aborted.value as Error).message, 'stop');
      await p.close();
      const closed = await then(request(s, { name: 'h6.example.test', type: 'A' }));
      assert.equal(closed.how, 'fail');
      assert.ok(isMxError(closed.value) && closed.value.code === 'MX_CLOSED');
      assert.equal(p.stats.inflight, 0);
    });
    it(`${Pool.name}: a queued question the socket layer refuses gives its room to the next in line`, async () => {
      const refusing = { host: '127.0.0.1', port: await freePort() }; // nothing listens there
      const p = new Pool({ maxInflight: 1 });
      pools.push(p);
      const question = { name: 'a.example.test', type: 'A' as const };
      const to = (server: { host: string; port: number }) => ({
        server,
        question,
        ...encodeQuery(question, { id: 0 }),
        timeoutMs: 500,
      });
      const first = p.exchange(to(refusing));
      const impossible = p.exchange(to({ host: '127.0.0.1', port: 70000 }));
      const behind = p.exchange(to(refusing));
      assert.equal((await first).kind, 'network');
      assert.match(((await impossible) as { error: string }).error, /port/i);
      const last = await Promise.race([behind, sleep(3000).then(() => 'still waiting')]);
      assert.notEqual(last, 'still waiting');
      assert.equal(p.stats.queued, 0);
      assert.equal(p.stats.inflight, 0);
    });
  }
});
