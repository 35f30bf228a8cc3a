/**
 * `mxray scan --queue` and `mxray worker` against Debian's redis-server and a lab on loopback: a coordinator
 * and two worker processes, one killed (SIGKILL) in the middle of a chunk; the output must hold every domain
 * exactly once with its correct route. Also: Ctrl-C of a distributed scan and its resume, an unreachable Redis
 * and a bad URL. The lab answers through a UDP proxy that delays every reply, so a chunk takes long enough to
 * be caught half done.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import type { ScanRecord } from '../../src/scan/record.js';
import { ROOT } from '../helpers/cli.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';

const ENTRY = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const DOMAINS = 240;
const HOSTS = 12;
/** Delay the proxy adds to every DNS reply. */
const DELAY_MS = 25;

function domainName(i: number): string {
  return `q${i}.queue.test`;
}

/** The route of domain i, by construction of the zone. */
function expected(i: number): { outcome: string; implicit: boolean; exchanges: string[] } {
  switch (i % 10) {
    case 7:
      return { outcome: 'null-mx', implicit: false, exchanges: [] };
    case 8:
      return { outcome: 'deliverable', implicit: true, exchanges: [domainName(i)] };
    case 9:
      return { outcome: 'no-domain', implicit: false, exchanges: [] };
    default:
      return {
        outcome: 'deliverable',
        implicit: false,
        exchanges: [`mx${i % HOSTS}.queue.test`, `mx${(i + 1) % HOSTS}.queue.test`],
      };
  }
}

function zoneText(): string {
  const lines = ['$ORIGIN queue.test.', '$TTL 300', '@ IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )', '  IN NS ns1'];
  lines.push('ns1 IN A 127.0.0.53');
  for (let h = 0; h < HOSTS; h++) lines.push(`mx${h} IN A 127.0.6.${h + 1}`);
  for (let i = 0; i < DOMAINS; i++) {
    const e = expected(i);
    if (e.outcome === 'null-mx') lines.push(`q${i} IN MX 0 .`);
    else if (e.implicit) lines.push(`q${i} IN A 127.0.7.${(i % 250) + 1}`);
    else if (e.outcome === 'deliverable')
      lines.push(`q${i} IN MX 10 mx${i % HOSTS}`, `q${i} IN MX 20 mx${(i + 1) % HOSTS}`);
  }
  return lines.join('\n') + '\n';
}

/** The input: every domain, a comment, a blank line and two invalid names. */
function inputLines(): { lines: string[]; invalid: number[]; domainLine: Map<number, number> } {
  const lines: string[] = ['# distributed scan test', ''];
  const invalid: number[] = [];
  const domainLine = new Map<number, number>();
  for (let i = 0; i < DOMAINS; i++) {
    if (i === 60 || i === 170) {
      lines.push('bad..name');
      invalid.push(lines.length);
    }
    lines.push(i % 11 === 0 ? domainName(i).toUpperCase() : domainName(i));
    domainLine.set(lines.length, i);
  }
  return { lines, invalid, domainLine };
}

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

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[], timeoutMs = 60_000): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

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
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  return whole
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ScanRecord);
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('mxray scan --queue with mxray worker processes (Redis, BullMQ)', () => {
  let redis: RedisServer;
  let lab: Lab;
  let proxy: Awaited<ReturnType<typeof startDelayProxy>>;
  let dir: string;
  let inputFile: string;
  const input = inputLines();
  const workers: Proc[] = [];

  const startWorker = async (): Promise<Proc> => {
    const w = startCli(
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

  /** Asserts that the records cover every input line once, each with the route the zone gives it. */
  function assertComplete(records: ScanRecord[]): void {
    const lines = records.map((r) => r.line).sort((a, b) => a - b);
    assert.deepEqual(lines, [...new Set(lines)], 'no line written twice');
    const wanted = [...input.domainLine.keys(), ...input.invalid].sort((a, b) => a - b);
    assert.deepEqual(lines, wanted, 'every domain line and invalid line written');
    for (const r of records) {
      assert.equal(r.input, input.lines[r.line - 1]);
      if (input.invalid.includes(r.line)) {
        assert.equal(r.outcome, null);
        assert.match(r.error ?? '', /invalid domain name/);
        continue;
      }
      const i = input.domainLine.get(r.line)!;
      assert.equal(r.domain, domainName(i));
      assert.equal(r.error, null);
      assert.deepEqual(
        { outcome: r.outcome, implicit: r.implicit, exchanges: r.hosts.map((h) => h.exchange) },
        expected(i),
        `line ${r.line} (${r.domain})`,
      );
    }
  }

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
    const scan = startCli(['scan', '--queue', redis.url, '--chunk', '20', '--out', out, inputFile]);

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

  it('Ctrl-C stops queuing, finishes the chunks being worked on, and --resume completes the scan', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const scan = startCli(['scan', '--queue', redis.url, '--chunk', '10', '--out', out, inputFile]);
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
    const resumed = startCli(args);
    const rr = await resumed.done;
    assert.equal(rr.code, 0, resumed.stderr());
    assert.match(resumed.stderr(), /resuming: \d+ line\(s\) already in/);
    assertComplete(readRecords(out));
    await waitForEmptyRedis();
  });

  it('an unreachable Redis is a clear error at once, for the scan and the worker; the output is untouched', async () => {
    const port = await closedPort();
    const out = join(dir, 'never.jsonl');
    const started = Date.now();
    const scan = startCli(['scan', '--queue', `redis://127.0.0.1:${port}`, '--out', out, inputFile]);
    const worker = startCli(['worker', '--queue', `redis://127.0.0.1:${port}`, '--server', '127.0.0.1:9']);
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
    const bad = startCli(['scan', '--queue', 'http://127.0.0.1:6379', inputFile]);
    assert.equal((await bad.done).code, 2);
    assert.match(bad.stderr(), /--queue "http:\/\/127\.0\.0\.1:6379" is not a Redis URL: the scheme is http/);
    const local = startCli(['scan', '--queue', redis.url, '--server', '127.0.0.1:53', inputFile]);
    assert.equal((await local.done).code, 2);
    assert.match(local.stderr(), /with --queue the workers resolve the domains: give --server to `mxray worker`/);
  });
});
