/**
 * Debian's Knot DNS (`knotd`) as a reference authoritative server for tests: a throw-away configuration in a
 * temporary directory, listening on 127.0.0.1 at a free port, serving the given zone files (each named
 * `<origin>.zone`). Tests that need it skip with `KNOT_SKIP_REASON` when knotd is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import dnsPacket from 'dns-packet';

export const KNOT_SKIP_REASON = 'knotd not installed (apt-get install knot)';

let available: boolean | undefined;

/** True when `knotd` can be run. */
export function knotAvailable(): boolean {
  available ??= spawnSync('knotd', ['-V'], { stdio: 'ignore' }).status === 0;
  return available;
}

export interface KnotServer {
  host: string;
  port: number;
  /** Knot's log so far (stderr), for failure messages. */
  log(): string;
  close(): Promise<void>;
}

// A port free on both UDP and TCP right now (Knot binds it a moment later; startKnot retries on a collision).
async function freePort(): Promise<number> {
  for (;;) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((res, rej) => {
      udp.once('error', rej);
      udp.bind(0, '127.0.0.1', () => res(udp.address().port));
    });
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((res) => {
      tcp.once('error', () => res(false));
      tcp.listen(port, '127.0.0.1', () => res(true));
    });
    await new Promise<void>((res) => udp.close(() => res()));
    if (ok) {
      await new Promise<void>((res) => tcp.close(() => res()));
      return port;
    }
  }
}

function soaQuery(port: number, origin: string, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      res(false);
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      try {
        res(dnsPacket.decode(msg).answers?.[0]?.type === 'SOA');
      } catch {
        res(false);
      }
    });
    socket.send(
      dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: origin, type: 'SOA' }] }),
      port,
      '127.0.0.1',
    );
  });
}

function config(dir: string, port: number, zones: Array<{ origin: string; file: string }>): string {
  return [
    'server:',
    `    rundir: "${dir}"`,
    `    listen: 127.0.0.1@${port}`,
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    'log:',
    '  - target: stderr',
    '    any: info',
    'database:',
    `    storage: "${dir}"`,
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    journal-content: none',
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    'zone:',
    ...zones.flatMap((z) => [`  - domain: "${z.origin}."`, `    file: "${z.file}"`]),
    '',
  ].join('\n');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts knotd serving `zoneFiles` (origin = file name without `.zone`) and waits until it answers a SOA
 * query for each zone. `close()` stops it and removes its directory.
 */
export async function startKnot(opts: { zoneFiles: string[]; timeoutMs?: number }): Promise<KnotServer> {
  const zones = opts.zoneFiles.map((f) => ({ origin: basename(f).replace(/\.zone$/, ''), file: resolve(f) }));
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'mxray-knot-'));
    const port = await freePort();
    const conf = join(dir, 'knot.conf');
    await writeFile(conf, config(dir, port, zones));
    const child = spawn('knotd', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    // If the test process dies without close(), do not leave knotd running.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    const spawnError = new Promise<Error>((res) => child.once('error', res));
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      const race = await Promise.race([
        Promise.all(zones.map((z) => soaQuery(port, z.origin, 200))).then((r) => r.every(Boolean)),
        spawnError.then(() => false),
      ]);
      ready = race;
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        host: '127.0.0.1',
        port,
        log: () => log,
        close: async () => {
          await stop(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    lastLog = log;
    await stop(child);
    await rm(dir, { recursive: true, force: true });
    if (!/bind|address/i.test(log)) break; // not a port collision: retrying will not help
  }
  throw new Error(`knotd did not start serving ${zones.map((z) => z.origin).join(', ')}:\n${lastLog}`);
}
