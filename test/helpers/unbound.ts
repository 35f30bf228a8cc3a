/**
 * Debian's Unbound as a validating recursive resolver for tests (RFC 4035 §4, §5): a throw-away configuration
 * in a temporary directory, listening on 127.0.0.1 at a free port, resolving only the given zones through
 * stub-zones that point at authoritative servers on loopback, and validating them from the trust anchors it
 * is given (each test zone is a trust island). It never reaches outside: the root is stubbed to the same
 * loopback server (which refuses it), queries leave only from 127.0.0.1, and there is no remote control.
 * Tests that need it skip with `UNBOUND_SKIP_REASON` when unbound is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from './ports.js';
import { reapOnExit, stopServer } from './server-process.js';

export const UNBOUND_SKIP_REASON = 'unbound not installed (apt-get install unbound)';

let available: boolean | undefined;

/** True when `unbound` can be run. */
export function unboundAvailable(): boolean {
  // `unbound -V` prints the version and exits 0; -h exits 1 on some builds.
  available ??= spawnSync('unbound', ['-V'], { stdio: 'ignore' }).status === 0;
  return available;
}

export interface UnboundOptions {
  /** Zones resolved by asking `server` directly (one stub-zone each; children need their own entry). */
  stubZones: Array<{ name: string; server: { host: string; port: number } }>;
  /** Trust anchors in presentation form, e.g. `dnssec.test. DS 52111 13 2 B569…` or a DNSKEY. */
  trustAnchors: string[];
  timeoutMs?: number;
}

export interface UnboundServer {
  host: string;
  port: number;
  /** Unbound's log so far (validation failures at val-log-level 2), for failure messages. */
  log(): Promise<string>;
  close(): Promise<void>;
}

const dot = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const quote = (s: string) => `"${s.replace(/"/g, '')}"`;

function config(dir: string, port: number, opts: UnboundOptions): string {
  const root = opts.stubZones[0]?.server;
  // RFC 6761 names are Unbound default local zones that answer NXDOMAIN; lift that for the ones the stub
  // zones live under, which are then resolved through their stubs instead.
  const defaults = new Set(
    opts.stubZones
      .map((z) => dot(z.name).split('.').filter(Boolean).at(-1) ?? '')
      .filter((tld) => ['test', 'invalid', 'onion', 'localhost'].includes(tld))
      .map((tld) => `${tld}.`),
  );
  return [
    'server:',
    `    interface: 127.0.0.1@${port}`,
    `    port: ${port}`,
    '    do-ip6: no',
    '    do-daemonize: no',
    '    username: ""',
    '    chroot: ""',
    `    directory: ${quote(dir)}`,
    `    pidfile: ${quote(join(dir, 'unbound.pid'))}`,
    `    logfile: ${quote(join(dir, 'unbound.log'))}`,
    '    use-syslog: no',
    '    verbosity: 1',
    '    val-log-level: 2',
    '    log-servfail: yes',
    '    module-config: "validator iterator"',
    // Loopback only, both ways: the stubs live on 127.0.0.1, and no query can leave from another address.
    '    do-not-query-localhost: no',
    '    outgoing-interface: 127.0.0.1',
    '    access-control: 127.0.0.0/8 allow',
    '    qname-minimisation: no',
    '    aggressive-nsec: no',
    '    prefetch: no',
    '    num-threads: 1',
    '    so-reuseport: no',
    ...[...defaults].map((d) => `    local-zone: ${quote(d)} nodefault`),
    ...opts.trustAnchors.map((a) => `    trust-anchor: ${quote(a)}`),
    // No RFC 8145 key-tag queries (`_ta-xxxx.<anchor>`): they only add noise to the servers' logs.
    '    trust-anchor-signaling: no',
    '',
    // The root goes to the test server too, which refuses it: without this Unbound would use its built-in
    // root hints (the real root servers) for anything outside the stubs, e.g. the DS of a trust island.
    ...(root ? ['stub-zone:', '    name: "."', `    stub-addr: ${root.host}@${root.port}`, ''] : []),
    ...opts.stubZones.flatMap((z) => [
      'stub-zone:',
      `    name: ${quote(dot(z.name))}`,
      `    stub-addr: ${z.server.host}@${z.server.port}`,
      '',
    ]),
    'remote-control:',
    '    control-enable: no',
    '',
  ].join('\n');
}

function probe(port: number, name: string, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      res(false);
    }, timeoutMs);
    socket.on('message', () => {
      clearTimeout(timer);
      socket.close();
      res(true);
    });
    socket.send(
      dnsPacket.encode({
        id: 9,
        type: 'query',
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type: 'SOA' }],
      }),
      port,
      '127.0.0.1',
    );
  });
}

/**
 * Starts `unbound -d -c conf` and waits until it answers a question (any answer: it is listening).
 * `close()` stops it and removes its directory.
 */
export async function startUnbound(opts: UnboundOptions): Promise<UnboundServer> {
  if (opts.stubZones.some((z) => !/^(127\.|::1$)/.test(z.server.host))) {
    throw new Error('startUnbound: stub servers must be on loopback');
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const probeName = opts.stubZones[0]?.name ?? '.';
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'mxray-unbound-'));
    const port = await freePort();
    const conf = join(dir, 'unbound.conf');
    await writeFile(conf, config(dir, port, opts));
    const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    reapOnExit(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const spawnError = new Promise<Error>((res) => child.once('error', res));
    const log = async () => stderr + (await readFile(join(dir, 'unbound.log'), 'utf8').catch(() => ''));
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await Promise.race([probe(port, probeName, 200), spawnError.then(() => false)]);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        host: '127.0.0.1',
        port,
        log,
        close: () => stopServer(child, dir),
      };
    }
    lastLog = await log();
    await stopServer(child, dir);
    if (!/bind|address already in use|could not open/i.test(lastLog)) break;
  }
  throw new Error(`unbound did not start:\n${lastLog}`);
}
