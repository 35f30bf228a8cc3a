/**
 * The benchmark's synthetic world: N domains in one zone (`bench.test`) over a pool of mail hosts, written as a
 * BIND master file as it is generated (streamed, so a million domains never sit in memory as text), plus the
 * domain list a scanner reads and the expected answer of every domain, normalised (see `normalize`).
 *
 * Every address is loopback: 127.x.y.z and ::1. Domains are `dNNNNNN.bench.test`; mail hosts are
 * `mxNNNN.hosts.bench.test`. Mix (per domain, by a seeded PRNG):
 * - ~97.5 %: 1–3 distinct MX hosts, preferences drawn from a small set (ties happen on purpose);
 * - ~0.5 %: a null MX (RFC 7505 `0 .`);
 * - ~1 %: no MX but an A (some also an AAAA): the implicit MX;
 * - ~0.5 %: no MX and no address (a TXT only: NODATA for MX, A and AAAA);
 * - ~0.5 %: listed for the scan but absent from the zone (NXDOMAIN).
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { seededRng } from '../src/core/random.js';

export const ORIGIN = 'bench.test';

/** A small, fast, seeded PRNG (mulberry32): the same world for the same seed. */
export const rng = seededRng;

/** What a scanner should find for one domain, in a tool-neutral form. */
export type Kind = 'mx' | 'implicit' | 'null' | 'none' | 'nxdomain' | 'fail';
export interface NormHost {
  preference: number;
  exchange: string;
  addresses: string[];
}
export interface NormRoute {
  kind: Kind;
  hosts: NormHost[];
}

/**
 * One string per domain: the kind, then the hosts sorted by (preference, exchange), each with its sorted
 * address set. Equal-preference order (shuffled by RFC 5321 §5.1) and address order do not matter.
 */
export function normalize(r: NormRoute): string {
  const hosts = r.hosts
    .map((h) => ({
      p: h.preference,
      e: h.exchange.toLowerCase().replace(/\.$/, ''),
      a: [...new Set(h.addresses.map((x) => x.toLowerCase()))].sort(),
    }))
    .sort((x, y) => x.p - y.p || (x.e < y.e ? -1 : x.e > y.e ? 1 : 0));
  return `${r.kind}|${hosts.map((h) => `${h.p} ${h.e}=${h.a.join(',')}`).join(';')}`;
}

export interface World {
  dir: string;
  zoneFile: string;
  domainsFile: string;
  domains: number;
  hosts: number;
  /** Expected normalised answer per domain index. */
  expected: string[];
  /** Records written to the zone. */
  records: number;
  zoneBytes: number;
  counts: Record<Kind, number>;
  generateMs: number;
}

export function domainName(i: number, width: number): string {
  return `d${String(i).padStart(width, '0')}.${ORIGIN}`;
}

const PREFS = [0, 5, 10, 10, 20, 20, 30, 50];

class Out {
  private buf: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly stream: WriteStream) {}
  async line(s: string): Promise<void> {
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('\n') + '\n';
    this.bytes += Buffer.byteLength(chunk);
    this.buf = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await new Promise<void>((r) => this.stream.once('drain', () => r()));
  }
  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((r, j) => this.stream.end((err?: Error | null) => (err ? j(err) : r())));
  }
}

export async function generateWorld(opts: {
  dir: string;
  domains: number;
  hosts?: number;
  seed?: number;
}): Promise<World> {
  const start = performance.now();
  const nHosts = opts.hosts ?? 2000;
  const rand = rng(opts.seed ?? 1);
  const width = Math.max(6, String(opts.domains - 1).length);
  const zoneFile = join(opts.dir, `${ORIGIN}.zone`);
  const domainsFile = join(opts.dir, 'domains.txt');
  const zone = new Out(createWriteStream(zoneFile));
  const list = new Out(createWriteStream(domainsFile));
  let records = 0;
  const rec = async (s: string) => {
    records++;
    await zone.line(s);
  };

  await zone.line(`$ORIGIN ${ORIGIN}.`);
  await zone.line('$TTL 3600');
  await rec('@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300');
  await rec('@ NS ns');
  await rec('ns A 127.0.0.1');

  // The host pool: 1–2 A records in 127/8 (never 127.0.0.0/24, whatever), ~30 % also AAAA ::1.
  const hostName = (h: number) => `mx${String(h).padStart(4, '0')}.hosts.${ORIGIN}`;
  const hostAddrs: string[][] = [];
  for (let h = 0; h < nHosts; h++) {
    const a = `127.${1 + Math.floor(h / 65536)}.${Math.floor(h / 256) % 256}.${h % 256}`;
    const addrs = [a];
    await rec(`mx${String(h).padStart(4, '0')}.hosts A ${a}`);
    if (rand() < 0.15) {
      const b = `127.100.${Math.floor(h / 256) % 256}.${h % 256}`;
      addrs.push(b);
      await rec(`mx${String(h).padStart(4, '0')}.hosts A ${b}`);
    }
    if (rand() < 0.3) {
      addrs.push('::1');
      await rec(`mx${String(h).padStart(4, '0')}.hosts AAAA ::1`);
    }
    hostAddrs.push(addrs);
  }

  const counts: Record<Kind, number> = { mx: 0, implicit: 0, null: 0, none: 0, nxdomain: 0, fail: 0 };
  const expected: string[] = new Array<string>(opts.domains);
  for (let i = 0; i < opts.domains; i++) {
    const name = domainName(i, width);
    const label = name.slice(0, -(ORIGIN.length + 1));
    await list.line(name);
    const r = rand();
    let route: NormRoute;
    if (r < 0.005) {
      await rec(`${label} MX 0 .`);
      route = { kind: 'null', hosts: [] };
    } else if (r < 0.015) {
      const a = `127.200.${Math.floor(i / 256) % 256}.${i % 256}`;
      await rec(`${label} A ${a}`);
      const addresses = [a];
      if (rand() < 0.3) {
        await rec(`${label} AAAA ::1`);
        addresses.push('::1');
      }
      route = { kind: 'implicit', hosts: [{ preference: 0, exchange: name, addresses }] };
    } else if (r < 0.02) {
      await rec(`${label} TXT "no mail here"`);
      route = { kind: 'none', hosts: [] };
    } else if (r < 0.025) {
      route = { kind: 'nxdomain', hosts: [] };
    } else {
      const n = 1 + Math.floor(rand() * 3);
      const picked = new Set<number>();
      while (picked.size < n) picked.add(Math.floor(rand() * nHosts));
      const hosts: NormHost[] = [];
      for (const h of picked) {
        const preference = PREFS[Math.floor(rand() * PREFS.length)]!;
        await rec(`${label} MX ${preference} mx${String(h).padStart(4, '0')}.hosts`);
        hosts.push({ preference, exchange: hostName(h), addresses: hostAddrs[h]! });
      }
      route = { kind: 'mx', hosts };
    }
    counts[route.kind]++;
    expected[i] = normalize(route);
  }
  await zone.end();
  await list.end();
  return {
    dir: opts.dir,
    zoneFile,
    domainsFile,
    domains: opts.domains,
    hosts: nHosts,
    expected,
    records,
    zoneBytes: zone.bytes,
    counts,
    generateMs: Math.round(performance.now() - start),
  };
}
