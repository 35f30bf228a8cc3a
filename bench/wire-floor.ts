/**
 * The floor under `bench/scan.ts`: the questions of the scan job sent and answered over mxray's own batched
 * datagram sockets (native/udp_batch.c) with nothing else done — no resolver, no route, no output. The MX
 * question of every domain and the A and AAAA questions of every mail host of the world, encoded before the
 * clock starts, `concurrency` in flight, each reply answered by the next question; a question with no reply
 * within 100 ms is sent again. What a scan takes beyond this is the work of resolving and writing routes.
 *
 *   node bench/wire-floor.mjs --root REPO --server 127.0.0.1:PORT --concurrency N --in domains.txt --hosts H
 *
 * Prints one JSON summary on stdout: {questions, answered, resent, setupMs, runMs}. Exits 1 when a question
 * is still unanswered after 10 s.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NativeUdp } from '../src/dns/transport/datagram.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const started = performance.now();
const root = arg('root');
const [host, portText] = arg('server').split(':') as [string, string];
const concurrency = Number(arg('concurrency', '200'));
const hostCount = Number(arg('hosts'));
const SOCKETS = 4; // as the scan's UDP pool
const RESEND_MS = 100;
const GIVE_UP_MS = 10_000;

const udp = createRequire(join(root, 'package.json'))('./native/build/Release/mxray_udp.node') as NativeUdp;
const codec = (await import(pathToFileURL(join(root, 'dist/dns/fast-codec.js')).href)) as {
  encodeQueryFast(
    q: { name: string; type: string },
    o: {
      id: number;
      recursionDesired: boolean;
      checkingDisabled: boolean;
      ednsUdpSize: number | null;
      dnssecOk: boolean;
    },
  ): Buffer | null;
};

// The questions, encoded: the IDs are the question's number (mod 2¹⁶), unique among the few hundred in flight.
const names: [string, string][] = [];
for (let h = 0; h < hostCount; h++) {
  const name = `mx${String(h).padStart(4, '0')}.hosts.bench.test`;
  names.push([name, 'A'], [name, 'AAAA']);
}
for (const line of readFileSync(arg('in'), 'utf8').split('\n')) if (line.trim()) names.push([line.trim(), 'MX']);
const questions = names.map(([name, type], i) => {
  const options = {
    id: i & 0xffff,
    recursionDesired: true,
    checkingDisabled: false,
    ednsUdpSize: 1232,
    dnssecOk: false,
  };
  const bytes = codec.encodeQueryFast({ name, type }, options);
  if (!bytes) throw new Error(`cannot encode ${name} ${type}`);
  return bytes;
});
const total = questions.length;

const answered = new Uint8Array(total);
const sentAt = new Float64Array(total);
/** The question in flight under each ID, per socket. */
const byId = Array.from({ length: SOCKETS }, () => new Int32Array(65536).fill(-1));
const outbox: number[][] = Array.from({ length: SOCKETS }, () => []);
const packed = Buffer.allocUnsafe(256 * 1024);
const offsets = new Uint32Array(4097);
const result = new Int32Array(2);
let next = 0;
let done = 0;
let resent = 0;
let lastReply = 0;
let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));

function queue(s: number, q: number): void {
  byId[s]![q & 0xffff] = q;
  sentAt[q] = performance.now();
  outbox[s]!.push(q);
}

function flush(s: number): void {
  const out = outbox[s]!;
  for (let from = 0; from < out.length;) {
    let at = 0;
    let k = 0;
    for (; from + k < out.length && k < 4096; k++) {
      const bytes = questions[out[from + k]!]!;
      if (at + bytes.length > packed.length) break;
      bytes.copy(packed, at);
      at += bytes.length;
      offsets[k + 1] = at;
    }
    offsets[0] = 0;
    udp.send(handles[s]!, packed, offsets, k, result);
    from += k;
  }
  out.length = 0;
}

const handles = Array.from({ length: SOCKETS }, (_, s) =>
  udp.open(
    host,
    Number(portText),
    4,
    4 * 1024 * 1024,
    (data, lengths) => {
      let at = 0;
      for (let i = 0; i < lengths.length; i++) {
        const len = lengths[i]! < 0 ? ~lengths[i]! : lengths[i]!;
        const q = len >= 2 ? byId[s]![data.readUInt16BE(at)]! : -1;
        at += len;
        if (q < 0 || answered[q]) continue;
        answered[q] = 1;
        done++;
        if (next < total) queue(s, next++);
      }
      lastReply = performance.now();
      if (done === total) finish();
    },
    (code, syscall) => {
      process.stderr.write(`${syscall}: ${code}\n`);
    },
    () => flush(s),
    () => flush(s),
  ),
);

const setupMs = performance.now() - started;
const begun = performance.now();
for (let i = 0; i < Math.min(concurrency, total); i++) queue(i % SOCKETS, next++);
for (let s = 0; s < SOCKETS; s++) flush(s);
// Lost datagrams (a server's receive buffer overflows in bursts) are sent again, on the socket they went on.
const timer = setInterval(() => {
  const now = performance.now();
  if (now - begun > GIVE_UP_MS) finish();
  for (let s = 0; s < SOCKETS; s++) {
    for (const q of byId[s]!) {
      if (q >= 0 && !answered[q] && now - sentAt[q]! > RESEND_MS) {
        resent++;
        queue(s, q);
      }
    }
    flush(s);
  }
}, RESEND_MS / 2);
await finished;
clearInterval(timer);
for (const h of handles) udp.close(h);
const summary = {
  questions: total,
  answered: done,
  resent,
  setupMs: Math.round(setupMs),
  runMs: Math.round(lastReply - begun),
};
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(done === total ? 0 : 1);
