/**
 * The baseline for `bench/scan.ts`: the same job as `mxray scan`, done with Node's built-in resolver
 * (`dns.promises.Resolver`, i.e. c-ares) — per domain the MX question, then A and AAAA of each distinct exchange
 * (de-duplicated in memory across the whole run); with no MX (NODATA), A and AAAA of the domain itself (the
 * implicit MX of RFC 5321 §5.1). Run as its own process so its CPU time and peak RSS can be measured like the
 * other tools'.
 *
 *   node --import tsx bench/builtin-scan.ts --server 127.0.0.1:PORT --concurrency N --in domains.txt --out out.jsonl
 *
 * Writes one JSON line per domain: {domain, kind, hosts: [{exchange, preference, addresses}]} (kinds as in
 * bench/world.ts), and a summary JSON on stdout.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { createInterface } from 'node:readline';
import type { Kind, NormHost } from './world.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const server = arg('server');
const concurrency = Number(arg('concurrency', '100'));
const timeoutMs = Number(arg('timeout-ms', '2000'));
const tries = Number(arg('tries', '3'));

const resolver = new Resolver({ timeout: timeoutMs, tries });
resolver.setServers([server]);

let queries = 0;
let failures = 0;
const code = (err: unknown) => (err as { code?: string }).code ?? 'ERROR';

type Addr = { addresses: string[]; failed: boolean };
async function addresses(name: string): Promise<Addr> {
  queries += 2;
  const [a, aaaa] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const out: string[] = [];
  let failed = false;
  for (const r of [aaaa, a]) {
    if (r.status === 'fulfilled') out.push(...r.value);
    else if (!['ENODATA', 'ENOTFOUND'].includes(code(r.reason))) failed = true;
  }
  return { addresses: out, failed };
}

const hostCache = new Map<string, Promise<Addr>>();
function hostAddresses(name: string): Promise<Addr> {
  let p = hostCache.get(name);
  if (!p) {
    p = addresses(name);
    hostCache.set(name, p);
  }
  return p;
}

interface Result {
  domain: string;
  kind: Kind;
  hosts: NormHost[];
}

// Latency of the MX questions: a c-ares retry after a lost datagram shows up as a >= timeout outlier.
let slow = 0;
let maxMs = 0;
async function resolveMx(domain: string) {
  const t = performance.now();
  try {
    return await resolver.resolveMx(domain);
  } finally {
    const ms = performance.now() - t;
    maxMs = Math.max(maxMs, ms);
    if (ms >= timeoutMs / 2) slow++;
  }
}

async function route(domain: string): Promise<Result> {
  queries++;
  try {
    const mx = await resolveMx(domain);
    if (mx.length > 0 && mx.every((m) => m.exchange === '' || m.exchange === '.')) {
      return { domain, kind: 'null', hosts: [] };
    }
    const real = mx.filter((m) => m.exchange !== '' && m.exchange !== '.');
    const hosts = await Promise.all(
      real.map(async (m) => {
        const exchange = m.exchange.toLowerCase().replace(/\.$/, '');
        const a = await hostAddresses(exchange);
        return { exchange, preference: m.priority, addresses: a.addresses };
      }),
    );
    return { domain, kind: 'mx', hosts };
  } catch (err) {
    const c = code(err);
    if (c === 'ENOTFOUND') return { domain, kind: 'nxdomain', hosts: [] };
    if (c !== 'ENODATA') {
      failures++;
      return { domain, kind: 'fail', hosts: [] };
    }
  }
  const own = await addresses(domain);
  if (own.addresses.length > 0) {
    return { domain, kind: 'implicit', hosts: [{ exchange: domain, preference: 0, addresses: own.addresses }] };
  }
  if (own.failed) failures++;
  return { domain, kind: own.failed ? 'fail' : 'none', hosts: [] };
}

async function main(): Promise<void> {
  const domains: string[] = [];
  const rl = createInterface({ input: createReadStream(arg('in')), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim()) domains.push(line.trim());

  const out = createWriteStream(arg('out'));
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  };

  const start = performance.now();
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, domains.length) }, async () => {
    while (next < domains.length) {
      const d = domains[next++]!;
      const line = JSON.stringify(await route(d)) + '\n'; // (not inline: `pending` is swapped by flush)
      pending.push(line);
      if (pending.length >= 4096) await flush();
    }
  });
  await Promise.all(workers);
  await flush();
  await new Promise<void>((r) => out.end(() => r()));
  const elapsedMs = performance.now() - start;
  process.stdout.write(
    JSON.stringify({
      domains: domains.length,
      queries,
      failures,
      exchanges: hostCache.size,
      elapsedMs: Math.round(elapsedMs),
      mxMaxMs: Math.round(maxMs),
      mxSlow: slow,
    }) + '\n',
  );
}

await main();
