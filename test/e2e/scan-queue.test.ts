/**
 * `mxray scan --queue` and `mxray worker` against Debian's redis-server and a lab on loopback: a coordinator
 * and two worker processes, one killed (SIGKILL) in the middle of a chunk; the output must hold every domain
 * exactly once with its correct route. Also: Ctrl-C of a distributed scan and its resume, an unreachable Redis
 * and a bad URL. The lab answers through a UDP proxy that delays every reply, so a chunk takes long enough to
 * be caught half done.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import type { ScanRecord } from '../../src/scan/record.js';
import type { CliProcess } from '../helpers/cli.js';
import { startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { parseJsonl, scanZone } from '../helpers/scan-zone.js';

const DOMAINS = 240;
const HOSTS = 12;
/** Delay the proxy adds to every DNS reply. */
const DELAY_MS = 25;

const { input, zoneText, assertComplete } = scanZone({
  zone: 'queue.test',
  label: 'q',
  domains: DOMAINS,
  hosts: HOSTS,
  hostNet: '127.0.6',
  implicitNet: '127.0.7',
  comment: '# distributed scan test',
  invalidBefore: (i) => (i === 60 || i === 170 ? 'bad..name' : undefined),
  upperCase: (i) => i % 11 === 0,
});

/** A UDP proxy in front of the lab that holds every reply for `delayMs`; one upstream socket per client. */
async function startDelayProxy(target: { host: string; port: number }, delayMs: number) {
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  const timers = new Set<NodeJS.Timeout>();
  front.on('message', (msg, client) => {
    const key = `${client.address}:${client.port}`;
    let up = upstreams.get(key);
    if (!up) {
      up = createSocket('udp4');
      up.on('message', (reply) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          front.send(reply, client.port, client.address);
        }, delayMs);
        timers.add(timer);
      });
      up.bind(0, '127.0.0.1');
      upstreams.set(key, up);
    }
    up.send(msg, target.port, target.host);
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  return {
    port: front.address().port,
    close() {
      for (const t of timers) clearTimeout(t);
      for (const up of upstreams.values()) up.close();
      front.close();
    },
  };
}

/** `mxray args`, killed after a minute unless told otherwise. */
const mxray = (args: string[], timeoutMs = 60_000): CliProcess => startCli(args, { timeoutMs });

/** Polls `check` every 20 ms until it returns a value, failing after `timeoutMs` with `what`. */
async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | Promise<T | null | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readRecords(path: string): ScanRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return parseJsonl(text.slice(0, text.lastIndexOf('\n') + 1));
}

describe('mxray scan --queue with mxray worker processes (Redis, BullMQ)', () => {
  let redis: RedisServer;
  let lab: Lab;
  let proxy: Awaited<ReturnType<typeof startDelayProxy>>;
  let dir: string;
  let inputFile: string;
  const workers: CliProcess[] = [];

  const startWorker = async (): Promise<CliProcess> => {
    const w = mxray(
      [
        'worker',
        '--queue',
        redis.url,
        '--server',
        `127.0.0.1:${proxy.port}`,
        '--timeout',
        '2',
        '--concurrency',
        '2',
        '--lock-timeout',
        '2',
      ],
      120_000,
    );
    workers.push(w);
    await waitFor('the worker to connect', () => (/waiting for scans/.test(w.stderr()) ? true : null), 20_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${w.stderr()}`);
      },
    );
    return w;
  };

  const waitForEmptyRedis = () =>
    waitFor(
      'every key of the scans to be removed from Redis',
      async () => ((await redis.command('KEYS', '*')) === '*0\r\n' ? true : null),
      10_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await redis.command('KEYS', '*')}`);
    });

  before(async () => {
    redis = await startRedis();
    lab = await startLab({ zones: [{ text: zoneText(), origin: 'queue.test.' }] });
    proxy = await startDelayProxy(lab.dns, DELAY_MS);
    dir = mkdtempSync(join(tmpdir(), 'mxray-scan-queue-'));
    inputFile = join(dir, 'domains.txt');
    writeFileSync(inputFile, input.lines.join('\n') + '\n');
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.done.catch(() => undefined)));
    proxy?.close();
    await lab?.close();
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two workers, one SIGKILLed mid-chunk: every domain written exactly once, with its route', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const out = join(dir, 'killed.jsonl');
    const scan = mxray(['scan', '--queue', redis.url, '--chunk', '20', '--out', out, inputFile]);

    // Worker A takes a chunk; once some of that chunk's records reached the output (pushed by A, written by
    // the coordinator) and before A finishes it, A is killed.
    const taken = await waitFor('worker A to be part-way through a chunk', () => {
      for (const m of a.stderr().matchAll(/took chunk (\d+) of scan \w+ \(lines (\d+)–(\d+)/g)) {
        const [chunk, first, last] = [Number(m[1]), Number(m[2]), Number(m[3])];
        if (new RegExp(`finished chunk ${chunk} of`).test(a.stderr())) continue;
        if (readRecords(out).some((r) => r.line >= first && r.line <= last)) return { chunk, first, last };
      }
      return null;
    });
    a.child.kill('SIGKILL');
    assert.equal((await a.done).signal, 'SIGKILL');
    assert.doesNotMatch(a.stderr(), new RegExp(`finished chunk ${taken.chunk} of`), 'A was killed mid-chunk');

    const result = await scan.done;
    assert.equal(result.code, 0, scan.stderr());
    assertComplete(readRecords(out));
    // B took A's chunk again after A's lock expired (BullMQ's stalled-job check) and finished it.
    assert.match(b.stderr(), new RegExp(`took chunk ${taken.chunk} of scan \\w+ \\(lines [^)]*attempt 2\\)`));
    assert.match(b.stderr(), new RegExp(`finished chunk ${taken.chunk} of`));
    // The records A had pushed for that chunk arrived twice; the second copies were dropped.
    assert.match(scan.stderr(), /\d+ duplicate record\(s\) dropped/);
    assert.match(scan.stderr(), /deliverable\s+\d+/);
    assert.match(scan.stderr(), /2 invalid line\(s\) skipped/);
    // The scan's queue, its results list and its registry entry are gone (a worker's stalled-check marker,
    // written just before it noticed the scan ended, expires within the lock timeout).
    await waitForEmptyRedis();
  });

  it('Ctrl-C stops queuing, hands in the domains in flight, and --resume completes the scan', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const scan = mxray(['scan', '--queue', redis.url, '--chunk', '10', '--out', out, inputFile]);
    await waitFor('some records', () => (readRecords(out).length >= 30 ? true : null));
    scan.child.kill('SIGINT');
    const r = await scan.done;
    assert.equal(r.code, 130, scan.stderr());
    const partial = readRecords(out);
    assert.ok(readFileSync(out, 'utf8').endsWith('\n'), 'only whole records');
    assert.ok(partial.length < input.domainLine.size + input.invalid.length, 'stopped early');
    assert.equal(new Set(partial.map((p) => p.line)).size, partial.length);
    const hint = /To continue:\n {2}mxray (.*)\n/.exec(scan.stderr());
    assert.ok(hint, scan.stderr());
    const args = hint[1]!.split(' ');
    assert.ok(args.includes('--resume') && args.includes('--queue'));
    const resumed = mxray(args);
    const rr = await resumed.done;
    assert.equal(rr.code, 0, resumed.stderr());
    assert.match(resumed.stderr(), /resuming: \d+ line\(s\) already in/);
    assertComplete(readRecords(out));
    await waitForEmptyRedis();
  });

  it('an unreachable Redis is a clear error at once, for the scan and the worker; the output is untouched', async () => {
    const port = await freePort(); // nothing listens on it
    const out = join(dir, 'never.jsonl');
    const started = Date.now();
    const scan = mxray(['scan', '--queue', `redis://127.0.0.1:${port}`, '--out', out, inputFile]);
    const worker = mxray(['worker', '--queue', `redis://127.0.0.1:${port}`, '--server', '127.0.0.1:9']);
    const [s, w] = await Promise.all([scan.done, worker.done]);
    assert.equal(s.code, 2);
    assert.equal(w.code, 2);
    const message = `mxray: error: cannot reach Redis at redis://127.0.0.1:${port}: connection refused [MX_INVALID_ARGUMENT]`;
    assert.equal(scan.stderr().trim(), message);
    assert.equal(worker.stderr().trim(), message);
    assert.ok(Date.now() - started < 15_000, 'no hang');
    assert.equal(existsSync(out), false, 'the output was not created');
  });

  it('a --queue that is not a Redis URL, or DNS options given to the coordinator, are refused before anything runs', async () => {
    const bad = mxray(['scan', '--queue', 'http://127.0.0.1:6379', inputFile]);
    assert.equal((await bad.done).code, 2);
    assert.match(bad.stderr(), /--queue "http:\/\/127\.0\.0\.1:6379" is not a Redis URL: the scheme is http/);
    const local = mxray(['scan', '--queue', redis.url, '--server', '127.0.0.1:53', inputFile]);
    assert.equal((await local.done).code, 2);
    assert.match(local.stderr(), /with --queue the workers resolve the domains: give --server to `mxray worker`/);
  });
});
