/**
 * Debian's Redis (`redis-server`) for the distributed-scan tests: a throw-away server in a temporary directory,
 * on 127.0.0.1 at a free port, with persistence off. CI installs it (.ci/run); when it is missing the tests fail
 * with `REDIS_MISSING` rather than skip, so a distributed scan is never left untested by accident.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { reapOnExit, stopServer } from './server-process.js';

export const REDIS_MISSING = 'redis-server is not installed: apt-get install redis-server (.ci/run installs it)';

/** Throws with `REDIS_MISSING` when `redis-server` cannot be run. */
export function requireRedis(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(REDIS_MISSING);
}

export interface RedisServer {
  host: string;
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** Its log so far, for failure messages. */
  log(): string;
  /** Sends one inline command and returns the raw reply (for assertions on keys). */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Sends one command in RESP and returns the raw reply text, once it has gone quiet for a moment. */
function rawCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    let quiet: NodeJS.Timeout | null = null;
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port}: no reply to ${args.join(' ')} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(limit);
      reject(err);
    });
    socket.on('data', (d: Buffer) => {
      reply += d.toString('utf8');
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => {
        clearTimeout(limit);
        socket.destroy();
        resolve(reply);
      }, 20);
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Starts redis-server on a free loopback port and waits until it answers PING. */
export async function startRedis(timeoutMs = 10_000): Promise<RedisServer> {
  requireRedis();
  const deadline = Date.now() + timeoutMs;
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'mxray-redis-'));
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    reapOnExit(child);
    let log = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await rawCommand(port, ['PING'], 500).then(
        (r) => r.startsWith('+PONG'),
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        host: '127.0.0.1',
        port,
        url: `redis://127.0.0.1:${port}`,
        log: () => log,
        command: (...args) => rawCommand(port, args),
        close: () => stopServer(child, dir),
      };
    }
    lastLog = log;
    await stopServer(child, dir);
    if (!/in use|bind/i.test(log)) break; // not a port collision: retrying will not help
  }
  throw new Error(`redis-server did not start:\n${lastLog}`);
}
