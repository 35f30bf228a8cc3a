/**
 * The pipelined TCP pool against servers on loopback: many questions in flight over few connections matched
 * by ID in any order, bursts sent in one write, replies split across segments, connections the server closes
 * or refuses, time limits, invalid replies, aborts, closing, a resolver over the pool, and a process that is
 * not held open by idle connections.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import net from 'node:net';
import { after, describe, it, mock } from 'node:test';
import packet from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { isMxError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/random.js';
import { encodeQuery } from '../../src/dns/message.js';
import { createResolver } from '../../src/dns/resolver.js';
import { TcpPool } from '../../src/dns/transport/tcp-pool.js';
import type { DnsQuestion } from '../../src/dns/types.js';
import { freePort } from '../helpers/ports.js';
import type { ScriptedDns } from '../helpers/scripted-dns.js';
import { reply, runToExit, startScriptedDns } from '../helpers/scripted-dns.js';

/** A DNS-over-TCP server written for one test: it counts connections and reads, and hands each query over. */
interface RawDns {
  host: string;
  port: number;
  connections: number;
  /** `data` events seen, over all connections. */
  chunks: number;
  close(): Promise<void>;
}
type OnQuery = (q: DecodedPacket, sock: Socket, conn: { n: number; queries: number }) => void;

const closers: (() => Promise<void>)[] = [];
const pools: TcpPool[] = [];
function pool(options?: ConstructorParameters<typeof TcpPool>[0]): TcpPool {
  const p = new TcpPool(options);
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(closers.map((c) => c()));
});

async function scripted(script: Parameters<typeof startScriptedDns>[0]): Promise<ScriptedDns> {
  const s = await startScriptedDns(script);
  closers.push(() => s.close());
  return s;
}

async function rawServer(onQuery: OnQuery, onConnect?: (sock: Socket) => void): Promise<RawDns> {
  const sockets = new Set<Socket>();
  const srv = net.createServer((sock) => {
    const conn = { n: ++state.connections, queries: 0 };
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      state.chunks++;
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        conn.queries++;
        onQuery(packet.decode(msg), sock, conn);
      }
    });
    onConnect?.(sock);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const state: RawDns = {
    host: '127.0.0.1',
    port: (srv.address() as net.AddressInfo).port,
    connections: 0,
    chunks: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  closers.push(() => state.close());
  return state;
}

/** A message behind its two-octet length (RFC 1035 §4.2.2). */
function framed(msg: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(msg.length);
  return Buffer.concat([head, msg]);
}
function send(sock: Socket, msg: Buffer): void {
  if (sock.writable) sock.write(framed(msg));
}

/** An A answer that names the question, so a mix-up between queries shows. */
const addressOf = (q: DecodedPacket): Answer => {
  const n = Number(/^h(\d+)\./.exec(q.questions![0]!.name)?.[1] ?? 0);
  return { name: q.questions![0]!.name, type: 'A', ttl: 60, data: `127.9.${n >> 8}.${n & 255}` };
};
const answerOf = (i: number) => `127.9.${i >> 8}.${i & 255}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const q = (i: number): DnsQuestion => ({ name: `h${i}.example.test`, type: 'A' });

function request(s: { host: string; port: number }, question: DnsQuestion, timeoutMs = 2000, signal?: AbortSignal) {
  const { id, bytes } = encodeQuery(question, { id: 0 });
  return { server: { host: s.host, port: s.port }, question, id, bytes, timeoutMs, signal };
}

describe('TCP pool', () => {
  it('matches 1,000 questions, 200 in flight over two connections, to replies sent back in random order', async () => {
    const rng = seededRng(7);
    const s = await rawServer((query, sock) => {
      setTimeout(() => send(sock, reply(query, [addressOf(query)])), Math.floor(rng() * 30));
    });
    const p = pool({ connections: 2, maxInflight: 200 });
    const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => p.exchange(request(s, q(i)))));
    outcomes.forEach((o, i) => {
      assert.equal(o.kind, 'response', `question ${i}`);
      assert.ok(o.kind === 'response');
      assert.equal(o.transport, 'tcp');
      assert.equal(o.response.question.name, `h${i}.example.test`);
      assert.equal(o.response.answers[0]!.data, answerOf(i));
    });
    assert.equal(p.stats.sent, 1000);
    assert.equal(p.stats.answered, 1000);
    assert.equal(p.stats.inflight, 0);
    assert.ok(s.connections <= 2, `${s.connections} connections`);
  });

  it('holds a short write back while the server has plenty to answer, and never leaves a question unsent', async () => {
    // The server answers nothing until it has received 101 questions: the last one, asked alone while 100 wait
    // on the connection, must still go out (held back at most a moment), or every question times out.
    const held: { query: DecodedPacket; sock: Socket }[] = [];
    const s = await rawServer((query, sock) => {
      held.push({ query, sock });
      if (held.length === 101) for (const h of held) send(h.sock, reply(h.query, [addressOf(h.query)]));
    });
    const p = pool({ connections: 1 });
    const first = Array.from({ length: 100 }, (_, i) => p.exchange(request(s, q(i), 5000)));
    await sleep(50);
    assert.equal(held.length, 100);
    const write = mock.method(net.Socket.prototype, 'write');
    let last;
    try {
      last = await p.exchange(request(s, q(100), 5000));
    } finally {
      write.mock.restore();
    }
    assert.equal(last.kind, 'response');
    const ours = write.mock.calls.filter((c) => (c.this as Socket).remotePort === s.port);
    assert.equal(ours.length, 1, 'the question went out in one write of the pool');
    for (const o of await Promise.all(first)) assert.equal(o.kind, 'response');
  });

  it('sends a burst of questions issued in one turn as one write', async () => {
    const s = await rawServer((query, sock) => send(sock, reply(query, [addressOf(query)])));
    const p = pool({ connections: 1 });
    assert.equal((await p.exchange(request(s, q(0)))).kind, 'response'); // the connection is open now
    const write = mock.method(net.Socket.prototype, 'write');
    s.chunks = 0;
    let outcomes;
    try {
      outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => p.exchange(request(s, q(i + 1)))));
    } finally {
      write.mock.restore();
    }
    const writes = write.mock.calls.filter((c) => (c.this as Socket).remotePort === s.port).length;
    assert.ok(outcomes.every((o) => o.kind === 'response'));
    assert.equal(writes, 1, `${writes} writes for 50 questions`);
    assert.ok(s.chunks <= 5, `the server read 50 questions in ${s.chunks} chunks`);
  });

  it('reassembles replies split across segments and replies sharing one', async () => {
    const got: { query: DecodedPacket; sock: Socket }[] = [];
    const s = await rawServer((query, sock) => {
      got.push({ query, sock });
      if (got.length < 3) return;
      const all = Buffer.concat(got.map((g) => framed(reply(g.query, [addressOf(g.query)]))));
      const first = 2 + all.readUInt16BE(0);
      const second = first + 2 + all.readUInt16BE(first);
      void (async () => {
        sock.write(all.subarray(0, 2)); // the first length alone
        await sleep(25);
        sock.write(all.subarray(2, 7)); // a few octets of the first message
        await sleep(25);
        sock.write(all.subarray(7, second + 1)); // the rest of it, all the second, half of the third's length
        await sleep(25);
        sock.write(all.subarray(second + 1));
      })();
    });
    const p = pool({ connections: 1 });
    const outcomes = await Promise.all([1, 2, 3].map((i) => p.exchange(request(s, q(i)))));
    outcomes.forEach((o, i) => {
      assert.ok(o.kind === 'response', `question ${i + 1}: ${o.kind}`);
      assert.equal(o.response.answers[0]!.data, answerOf(i + 1));
      assert.deepEqual(o.dropped, []);
    });
    assert.equal(p.stats.unmatched, 0);
  });

  it('resends the questions a closed connection left unanswered on a new one', async () => {
    const s = await rawServer((query, sock, conn) => {
      if (conn.n > 1) return send(sock, reply(query, [addressOf(query)]));
      // The first connection answers three questions, then the server closes it.
      if (conn.queries <= 3) send(sock, reply(query, [addressOf(query)]));
      if (conn.queries === 3) sock.end();
    });
    const p = pool({ connections: 1 });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => p.exchange(request(s, q(i)))));
    outcomes.forEach((o, i) => {
      assert.ok(o.kind === 'response', `question ${i}: ${o.kind}`);
      assert.equal(o.response.answers[0]!.data, answerOf(i));
    });
    assert.equal(s.connections, 2);
    assert.equal(p.stats.sent, 10);
    assert.equal(p.stats.answered, 10);
  });

  it('fails questions as network errors when every connection is closed at once, after one resend', async () => {
    const s = await rawServer(
      () => {},
      (sock) => sock.end(),
    );
    const p = pool({ connections: 1 });
    const outcomes = await Promise.all([1, 2, 3].map((i) => p.exchange(request(s, q(i), 5000))));
    for (const o of outcomes) {
      assert.ok(o.kind === 'network', o.kind);
      assert.match(o.error, /closed the connection/);
      assert.ok(o.elapsedMs < 2000, `${o.elapsedMs} ms`);
    }
    assert.equal(s.connections, 2, 'one connection, then one more for the resend');
    assert.equal(p.stats.inflight, 0);
  });

  it('resends on new connections when the server closes every connection at once (a restart)', async () => {
    let received = 0;
    const first: Socket[] = [];
    const s = await rawServer((query, sock, conn) => {
      if (conn.n > 2) return send(sock, reply(query, [addressOf(query)]));
      if (!first.includes(sock)) first.push(sock);
      // The first two connections answer nothing; once they hold all ten questions, both close together.
      if (++received === 10) for (const c of first) c.end();
    });
    const p = pool({ connections: 2 });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => p.exchange(request(s, q(i), 3000))));
    outcomes.forEach((o, i) => {
      assert.ok(o.kind === 'response', `question ${i}: ${o.kind}${o.kind === 'network' ? `: ${o.error}` : ''}`);
      assert.equal(o.response.answers[0]!.data, answerOf(i));
    });
  });

  it('lets a queued question leave the line as soon as its caller aborts', async () => {
    const s = await rawServer(() => {});
    const p = pool({ maxInflight: 1 });
    const first = p.exchange(request(s, q(1), 1500));
    const controller = new AbortController();
    const started = Date.now();
    const queued = p.exchange(request(s, q(2), 5000, controller.signal));
    await sleep(20);
    assert.equal(p.stats.queued, 1);
    setTimeout(() => controller.abort(new Error('stop now')), 30);
    await assert.rejects(queued, /stop now/);
    assert.ok(Date.now() - started < 500, `rejected after ${Date.now() - started} ms`);
    assert.equal(p.stats.queued, 0);
    assert.equal((await first).kind, 'timeout');
    assert.equal(p.stats.sent, 1, 'the aborted question was never sent');
  });

  it('replaces a connection that stays silent past a time limit, so the next question gets an answer', async () => {
    // The first connection is accepted and never answered (a middlebox that forgot the flow); later ones answer.
    const s = await rawServer((query, sock, conn) => {
      if (conn.n > 1) send(sock, reply(query, [addressOf(query)]));
    });
    const p = pool({ connections: 1 });
    const waiting = p.exchange(request(s, q(2), 5000));
    const first = await p.exchange(request(s, q(1), 300));
    assert.equal(first.kind, 'timeout');
    const second = await p.exchange(request(s, q(3), 2000));
    assert.ok(second.kind === 'response', second.kind);
    assert.equal(second.response.answers[0]!.data, answerOf(3));
    // The question that was still waiting on the silent connection was sent again on the new one.
    const resent = await waiting;
    assert.ok(resent.kind === 'response', resent.kind);
    assert.equal(s.connections, 2);
  });

  it('fails questions at once when the connection is refused', async () => {
    const port = await freePort(); // was listened on, and is closed now
    const p = pool();
    const started = Date.now();
    const outcomes = await Promise.all([1, 2].map((i) => p.exchange(request({ host: '127.0.0.1', port }, q(i), 5000))));
    for (const o of outcomes) {
      assert.ok(o.kind === 'network', o.kind);
      assert.match(o.error, /ECONNREFUSED/);
    }
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal(p.stats.inflight, 0);
  });

  it('times out a question near its limit and counts a late reply as unmatched', async () => {
    // h1 is answered after 600 ms; h2 at once, so the connection is alive and kept when h1 times out.
    const s = await rawServer((query, sock) => {
      const late = query.questions![0]!.name === 'h1.example.test';
      setTimeout(() => send(sock, reply(query, [addressOf(query)])), late ? 600 : 50);
    });
    const p = pool({ connections: 1 });
    const [o, other] = await Promise.all([p.exchange(request(s, q(1), 300)), p.exchange(request(s, q(2), 300))]);
    assert.equal(other.kind, 'response');
    assert.equal(o.kind, 'timeout');
    assert.equal(o.transport, 'tcp');
    assert.ok(o.elapsedMs >= 250 && o.elapsedMs < 2000, `${o.elapsedMs} ms`);
    assert.equal(p.stats.timedOut, 1);
    assert.equal(p.stats.inflight, 0);
    for (let i = 0; i < 100 && p.stats.unmatched === 0; i++) await sleep(20);
    assert.equal(p.stats.unmatched, 1);
    assert.equal(p.stats.answered, 1);
    assert.equal(s.connections, 1);
  });

  it('drops replies with a wrong ID or question, or malformed, and accepts the right one after them', async () => {
    const s = await rawServer((query, sock) => {
      const id = query.id!;
      send(sock, reply(query, [addressOf(query)], { id: id ^ 0x5a5a })); // matches nothing in flight
      send(sock, reply(query, [], { question: { name: 'other.example.test', type: 'A' } }));
      send(sock, Buffer.from([id >> 8, id & 255, 0x81, 0x80, 0, 1])); // the right ID, then truncated
      setTimeout(() => send(sock, reply(query, [addressOf(query)])), 20);
    });
    const p = pool();
    const o = await p.exchange(request(s, q(4)));
    assert.ok(o.kind === 'response', o.kind);
    assert.equal(o.response.answers[0]!.data, answerOf(4));
    assert.equal(o.dropped.length, 2, o.dropped.join('; '));
    assert.match(o.dropped[0]!, /another question/);
    assert.match(o.dropped[1]!, /malformed|octets/);
    assert.equal(p.stats.unmatched, 1);
  });

  it('throws the caller’s abort reason and forgets the question', async () => {
    const s = await rawServer(() => {});
    const p = pool();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop now')), 50);
    const pending = p.exchange(request(s, q(1), 5000, controller.signal));
    await sleep(20);
    assert.equal(p.stats.inflight, 1);
    await assert.rejects(pending, /stop now/);
    assert.equal(p.stats.inflight, 0);
    assert.equal(p.stats.timedOut, 0);
  });

  it('ends questions in flight as network failures on close, and refuses queued and new ones', async () => {
    const s = await rawServer(() => {});
    const p = pool({ maxInflight: 1 });
    const inflight = p.exchange(request(s, q(1), 5000));
    const queued = p.exchange(request(s, q(2), 5000));
    await sleep(30);
    assert.deepEqual([p.stats.inflight, p.stats.queued], [1, 1]);
    await p.close();
    const o = await inflight;
    assert.ok(o.kind === 'network', o.kind);
    assert.match(o.error, /closed/);
    await assert.rejects(queued, (err) => isMxError(err, 'MX_CLOSED'));
    await assert.rejects(p.exchange(request(s, q(3))), (err) => isMxError(err, 'MX_CLOSED'));
    assert.equal(p.stats.inflight, 0);
  });

  it('carries a resolver’s questions over TCP only', async () => {
    const s = await scripted((query) => [reply(query, [addressOf(query)])]);
    const r = createResolver({ servers: [{ host: s.host, port: s.port }], pool: pool() });
    const o = await r.resolve(q(9));
    assert.ok(o.kind === 'answer', o.kind);
    assert.equal(o.transport, 'tcp');
    assert.equal(o.records[0]!.data, answerOf(9));
    assert.ok(s.queries.length >= 1);
    assert.deepEqual(
      s.queries.map((x) => x.transport),
      s.queries.map(() => 'tcp'),
    );
  });

  it('does not keep a process alive once its questions are answered', async () => {
    const s = await scripted((query) => [reply(query, [addressOf(query)])]);
    const r = await runToExit(
      `
      import { TcpPool } from './src/dns/transport/tcp-pool.ts';
      import { createResolver } from './src/dns/resolver.ts';
      const r = createResolver({ servers: [{ host: '127.0.0.1', port: PORT }], pool: new TcpPool() });
      const o = await r.resolve({ name: 'h7.example.test', type: 'A' });
      console.log(o.kind, o.transport, o.kind === 'answer' ? o.records[0].data : '');
    `,
      s.port,
    );
    assert.equal(r.code, 0, `the process did not exit by itself: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'answer tcp 127.9.0.7');
    assert.deepEqual(
      s.queries.map((x) => x.transport),
      ['tcp'],
    );
  });
});
