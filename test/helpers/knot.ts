/**
 * Debian's Knot DNS (`knotd`) as a reference authoritative server for tests: a throw-away configuration in a
 * temporary directory, listening on 127.0.0.1 at a free port, serving the given zone files (each named
 * `<origin>.zone`). Tests that need it skip with `KNOT_SKIP_REASON` when knotd is not installed.
 *
 * With `dnssecSigning`, Knot signs the chosen zones itself (RFC 4033–4035: one ECDSA P-256 CSK, NSEC) with keys
 * it generates at start, and hands back each zone's DNSKEY and DS (from `keymgr`, part of the same package)
 * and the signed zone as Knot wrote it, which another Knot can then serve as is, or altered.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from './ports.js';
import { reapOnExit, stopServer } from './server-process.js';

export const KNOT_SKIP_REASON = 'knotd not installed (apt-get install knot)';

let available: boolean | undefined;

/** True when `knotd` can be run. */
export function knotAvailable(): boolean {
  available ??= spawnSync('knotd', ['-V'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** What Knot signed for one zone (`dnssecSigning`). */
export interface KnotSignedZone {
  /** The zone's DNSKEY RDATA in presentation form (`257 3 13 base64…`). */
  dnskey: string[];
  /** DS RDATA for the parent (`tag 13 2 hex`, and the SHA-384 one), as `keymgr ds` prints it. */
  ds: string[];
  /** The signed zone in master-file form, as Knot dumped it: servable by a Knot that does not sign. */
  signedZone: string;
}

export interface KnotServer {
  host: string;
  port: number;
  /** The zones Knot signed, by origin (no trailing dot); empty without `dnssecSigning`. */
  dnssec: Record<string, KnotSignedZone>;
  /** Knot's log so far (stderr), for failure messages. */
  log(): string;
  close(): Promise<void>;
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

interface ZoneConf {
  origin: string;
  file: string;
  sign: boolean;
}

function config(dir: string, port: number, zones: ZoneConf[]): string {
  const signing = zones.some((z) => z.sign);
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
    // One CSK so a single DS links the zone; no CDS/CDNSKEY, which would only add noise to the answers.
    ...(signing
      ? [
          'policy:',
          '  - id: lab',
          '    algorithm: ecdsap256sha256',
          '    single-type-signing: on',
          '    nsec3: off',
          '    cds-cdnskey-publish: none',
        ]
      : []),
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    journal-content: none',
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    'zone:',
    ...zones.flatMap((z) => [
      `  - domain: "${z.origin}."`,
      `    file: "${z.file}"`,
      // A signed zone is written back to (a copy of) its file at once, so the test can read the signatures.
      ...(z.sign ? ['    dnssec-signing: on', '    dnssec-policy: lab', '    zonefile-sync: 0'] : []),
    ]),
    '',
  ].join('\n');
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) =>
    execFile(cmd, args, { encoding: 'utf8', timeout: 5000 }, (err, stdout, stderr) =>
      err ? rej(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    ),
  );
}

// Knot dumps the zone once it is signed (zonefile-sync: 0); the dump is complete when its footer is there.
async function readSignedZone(conf: ZoneConf, deadline: number): Promise<{ dnskey: string[]; text: string }> {
  for (;;) {
    const text = await readFile(conf.file, 'utf8');
    if (/\sRRSIG\s+DNSKEY\s/.test(text) && text.includes(';; Written ')) {
      const dnskey = text
        .split('\n')
        .map((l) => l.match(/^(\S+)\s+\d+\s+DNSKEY\s+(.+)$/))
        .filter((m): m is RegExpMatchArray => m !== null && m[1] === `${conf.origin}.`)
        .map((m) => m[2]!.trim());
      return { dnskey, text };
    }
    if (Date.now() > deadline) throw new Error(`knotd did not write the signed zone ${conf.origin}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface StartKnotOptions {
  zoneFiles: string[];
  timeoutMs?: number;
  /** Sign zones with DNSSEC: `true` for all, or the origins to sign. Default: none. */
  dnssecSigning?: boolean | readonly string[];
}

/**
 * Starts knotd serving `zoneFiles` (origin = file name without `.zone`) and waits until it answers a SOA
 * query for each zone (and, when signing, has written each signed zone). `close()` stops it and removes its
 * directory. Zone files that Knot signs are copied first, so the originals are never rewritten.
 */
export async function startKnot(opts: StartKnotOptions): Promise<KnotServer> {
  const signs = (origin: string) =>
    opts.dnssecSigning === true || (Array.isArray(opts.dnssecSigning) && opts.dnssecSigning.includes(origin));
  const sources = opts.zoneFiles.map((f) => {
    const origin = basename(f).replace(/\.zone$/, '');
    return { origin, file: resolve(f), sign: signs(origin) };
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'mxray-knot-'));
    const zones: ZoneConf[] = [];
    for (const z of sources) {
      if (!z.sign) {
        zones.push(z);
        continue;
      }
      const copy = join(dir, `${z.origin}.zone`);
      await copyFile(z.file, copy);
      zones.push({ ...z, file: copy });
    }
    const port = await freePort();
    const conf = join(dir, 'knot.conf');
    await writeFile(conf, config(dir, port, zones));
    const child = spawn('knotd', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    reapOnExit(child);
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
      const dnssec: Record<string, KnotSignedZone> = {};
      try {
        for (const z of zones.filter((zone) => zone.sign)) {
          const signed = await readSignedZone(z, deadline);
          const ds = (await run('keymgr', ['-c', conf, `${z.origin}.`, 'ds']))
            .split('\n')
            .map((l) => l.match(/\sDS\s+(.+)$/)?.[1]?.trim())
            .filter((d): d is string => d !== undefined);
          dnssec[z.origin] = { dnskey: signed.dnskey, ds, signedZone: signed.text };
        }
      } catch (err) {
        await stopServer(child, dir);
        throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
      }
      return {
        host: '127.0.0.1',
        port,
        dnssec,
        log: () => log,
        close: () => stopServer(child, dir),
      };
    }
    lastLog = log;
    await stopServer(child, dir);
    if (!/bind|address/i.test(log)) break; // not a port collision: retrying will not help
  }
  throw new Error(`knotd did not start serving ${sources.map((z) => z.origin).join(', ')}:\n${lastLog}`);
}
