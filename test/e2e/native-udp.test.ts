/**
 * The batched native datagram module (native/udp_batch.c) at its edges, on loopback: worker threads that end
 * with a socket open, an ICMP error taken by a send before the poll saw it, a refused port inside a burst,
 * offsets that do not fit, and a handler that throws in the middle of a batch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import type { DatagramSocket } from '../../src/dns/transport/datagram.js';
import { nativeDatagramIo, openDatagram } from '../../src/dns/transport/datagram.js';
import { freePort } from '../helpers/ports.js';

const native = nativeDatagramIo();
const modulePath = new URL('../../native/build/Release/mxray_udp.node', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits without letting the event loop run. */
const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const closers: (() => void)[] = [];
after(() => closers.forEach((close) => close()));

/** A UDP server on loopback that answers each datagram with `answer(msg)` (every datagram, when it returns many). */
async function udpServer(answer: (msg: Buffer) => Buffer[], port = 0): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    for (const out of answer(msg)) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  closers.push(() => socket.close());
  return { port: socket.address().port, socket };
}

/** A native socket whose datagrams, errors and batches are recorded. */
function recorded(port: number, onMessage?: (msg: Buffer) => void) {
  const seen = { messages: [] as string[], errors: [] as string[], batches: 0, connected: false };
  const socket: DatagramSocket = openDatagram(
    '127.0.0.1',
    port,
    {
      message: (msg) => {
        seen.messages.push(msg.toString());
        onMessage?.(msg);
      },
      error: (err) => seen.errors.push(err.message),
      connect: () => (seen.connected = true),
      afterBatch: () => seen.batches++,
    },
    { io: 'native', receiveBufferBytes: 1 << 20 },
  );
  closers.push(() => socket.close(() => {}));
  return { socket, seen };
}

/** A UDP echo server in a process of its own (one in this process could not answer while this one blocks). */
async function echoProcess(): Promise<{ port: number }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('node:dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(0, '127.0.0.1', () => console.log(s.address().port));",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  closers.push(() => child.kill());
  const [data] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(String(data).trim()) };
}

async function run(script: string): Promise<{ code: number | null; signal: string | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(killer);
  return { code, signal, out };
}

describe('native datagram module', { skip: native.available ? false : native.reason }, () => {
  for (const mode of ['ends by itself', 'process.exit', 'terminate']) {
    it(`lets a worker thread that leaves a socket open end cleanly (${mode})`, async () => {
      const r = await run(`
        import { Worker } from 'node:worker_threads';
        const w = new Worker(\`
          import { createRequire } from 'node:module';
          const udp = createRequire(import.meta.url)(${JSON.stringify(modulePath)});
          const h = udp.open('127.0.0.1', 9, 4, 1 << 16, () => {}, () => {}, () => {}, () => {});
          globalThis.keep = h;
          udp.setRef(h, false);
          if (${JSON.stringify(mode)} === 'process.exit') process.exit(0);
          if (${JSON.stringify(mode)} === 'terminate') setInterval(() => {}, 1000);
        \`, { eval: true });
        if (${JSON.stringify(mode)} === 'terminate') setTimeout(() => w.terminate(), 100);
        w.on('exit', (c) => console.log('worker exited', c));
      `);
      assert.equal(r.signal, null, `the process died: ${r.out}`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /worker exited/);
    });
  }

  it('keeps reading a socket whose ICMP error a send took before the poll saw it', async () => {
    const echo = await echoProcess();
    const closed = await freePort(); // nothing listens there yet
    let b: ReturnType<typeof recorded> | null = null;
    // A's reply arrives in the same turn as B's error; A's handler sends on B, which takes B's pending error.
    const a = recorded(echo.port, () => {
      b!.socket.queue(Buffer.from('from-a'));
      b!.socket.flush();
    });
    b = recorded(closed);
    await sleep(20);
    // Both events must be waiting when the loop next polls: the echo's reply to A, then B's refusal (on loopback
    // the ICMP error is set during the send itself). So no await between them.
    a.socket.queue(Buffer.from('ping'));
    a.socket.flush();
    blockFor(100); // the echo server runs in another process
    b.socket.queue(Buffer.from('to-nobody'));
    b.socket.flush();
    await sleep(100);
    assert.deepEqual(a.seen.messages, ['ping']);
    // Now a server listens on B's port: B must still read what it answers.
    await udpServer(() => [Buffer.from('reply')], closed);
    b.socket.queue(Buffer.from('again'));
    b.socket.flush();
    await sleep(200);
    assert.deepEqual(b.seen.messages, ['reply'], `B's errors: ${b.seen.errors.join(', ')}`);
  });

  it('reports a refused port found in the middle of a burst', async () => {
    const closed = await freePort();
    const b = recorded(closed);
    await sleep(10);
    for (let round = 0; round < 3 && b.seen.errors.length === 0; round++) {
      for (let i = 0; i < 5; i++) b.socket.queue(Buffer.from(`q${i}`));
      b.socket.flush();
      await sleep(50);
    }
    assert.ok(
      b.seen.errors.some((e) => /ECONNREFUSED/.test(e)),
      `errors: ${b.seen.errors.join(', ') || 'none'}`,
    );
  });

  it('refuses offsets that reach outside the data, sending nothing', async () => {
    const udp = createRequire(import.meta.url)(modulePath) as {
      open: (...args: unknown[]) => object;
      send: (h: object, data: Buffer, offsets: Uint32Array, count: number, result: Int32Array) => void;
      close: (h: object) => void;
    };
    let received = 0;
    const sink = await udpServer(() => {
      received++;
      return [];
    });
    const noop = () => {};
    const h = udp.open('127.0.0.1', sink.port, 4, 1 << 16, noop, noop, noop, noop);
    closers.push(() => udp.close(h));
    const result = new Int32Array(2);
    assert.throws(
      () => udp.send(h, Buffer.alloc(16), new Uint32Array([100_000, 104_000, 16]), 2, result),
      /offsets or the result do not fit/,
    );
    assert.throws(() => udp.send(h, Buffer.alloc(16), new Uint32Array([8, 4, 16]), 2, result), /do not fit/);
    udp.send(h, Buffer.from('0123456789abcdef'), new Uint32Array([0, 4, 16]), 2, result);
    assert.deepEqual([...result], [2, 0]);
    await sleep(50);
    assert.equal(received, 2);
  });

  it('hands over every datagram of a batch when a handler throws, then reports the error', async () => {
    const burst = await udpServer(() => Array.from({ length: 5 }, (_, i) => Buffer.from(`r${i}`)));
    const r = await run(`
      import { openDatagram } from ${JSON.stringify(new URL('../../src/dns/transport/datagram.ts', import.meta.url).pathname)};
      const seen = [];
      process.on('uncaughtException', (err) => seen.push('uncaught ' + err.message));
      const s = openDatagram('127.0.0.1', ${burst.port}, {
        message: (msg) => { seen.push(msg.toString()); if (msg.toString() === 'r0') throw new Error('boom'); },
        error: (err) => seen.push('error ' + err.message),
        connect: () => {},
        afterBatch: () => {},
      }, { io: 'native', receiveBufferBytes: 1 << 20 });
      s.queue(Buffer.from('go'));
      s.flush();
      setTimeout(() => { console.log(JSON.stringify(seen)); s.close(() => {}); }, 200);
    `);
    assert.equal(r.code, 0, r.out);
    const seen = JSON.parse(r.out.trim().split('\n').at(-1)!) as string[];
    assert.deepEqual(seen.filter((x) => /^r\d$/.test(x)).sort(), ['r0', 'r1', 'r2', 'r3', 'r4']);
    assert.ok(seen.includes('uncaught boom'), seen.join(', '));
  });
});
