/**
 * `npm run bench:scan` — how fast does a whole list of domains get its mail routes, and at what cost?
 *
 * 1. Generates a world of N domains (default 100,000; `--domains N`) over 2,000 mail hosts (bench/world.ts) as
 *    one BIND zone, streamed to a temp dir, and serves it from Debian's Knot on 127.0.0.1 at a free port with
 *    one UDP worker (test/helpers/knot.ts sets `udp-workers: 1`: with two, timings go bimodal).
 * 2. Runs the same job — per domain the MX question, then A and AAAA of each distinct exchange (or of the domain
 *    itself when it has no MX) — with each tool as a child process under /usr/bin/time:
 *    a. `mxray scan`, twice: over its UDP socket pool (the default) and pipelined over TCP (`--tcp`);
 *    b. Node's built-in resolver (c-ares) at the same concurrency (bench/builtin-scan.ts, run as JavaScript);
 *    c. massdns, when MASSDNS=/path/to/massdns is set (two passes: MX, then A/AAAA of the unique names).
 * 3. Checks every tool's answer for every domain against the world's truth (and so against each other):
 *    normalised per domain as the kind plus the sorted (preference, exchange) list with each exchange's sorted
 *    address set.
 * 4. Prints a table (domains/s, wall s, CPU s user+sys of the child, peak RSS, ratios vs the built-in
 *    resolver) and writes bench/results/scan-<date>.json.
 * 5. Then runs the scan library pass after pass in one process (bench/warm-passes.ts): the first pass against
 *    the last shows how much of a one-shot scan is the JavaScript engine warming up.
 * Also, when `dnsperf` is installed (Debian package `dnsperf`), measures Knot's raw MX capacity for a few
 * seconds first.
 *
 * Traffic goes to 127.0.0.1 only.
 *
 * Options: --domains N  --concurrency N (200)  --seed N (1)  --dnsperf-seconds S (5; 0 skips)
 *          --mxray dist|src|skip (auto: dist when dist/cli/commands/scan.js exists, else src via tsx)
 *          --mxray-cmd 'CMD ARGS' (run `CMD ARGS scan …` instead, e.g. 'mxray' or 'node /path/to/main.js')
 *          --keep (keep the temp dir)  --timeout-ms N / --tries N (both tools; default 2000 / 3)
 *          --runs N (3): runs of each tool, taking turns; each row is the run of median wall time
 *          --warm-passes N (4; 0 leaves step 5 out)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { knotAvailable, startKnot } from '../test/helpers/knot.js';
import type { Kind, NormHost } from './world.js';
import { generateWorld, normalize } from './world.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (s = '') => process.stdout.write(s + '\n');

function opt(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const N = Number(opt('domains', '100000'));
const CONCURRENCY = Number(opt('concurrency', '200'));
const SEED = Number(opt('seed', '1'));
const DNSPERF_SECONDS = Number(opt('dnsperf-seconds', '5'));
const TIMEOUT_MS = opt('timeout-ms', '2000');
const TRIES = opt('tries', '3');
const MXRAY_MODE = opt('mxray', 'auto');
/** Runs of each tool, taking turns (each row is the run of median wall time). */
const RUNS = Math.max(1, Math.floor(Number(opt('runs', '3'))) || 1);
/** Any command line that takes `scan FILE --server … --concurrency N --out FILE` (e.g. an installed `mxray`). */
const MXRAY_CMD = opt('mxray-cmd', '');
/** Passes of the warm-process measurement (bench/warm-passes.ts); 0 leaves it out. */
const WARM_PASSES = Math.max(0, Math.floor(Number(opt('warm-passes', '4'))) || 0);

interface Measured {
  code: number | null;
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time, which reports the child's own user/sys CPU and peak RSS. */
async function measured(cmd: string, args: string[], dir: string, cwd = ROOT): Promise<Measured> {
  const timeFile = join(dir, `time-${process.hrtime.bigint()}.txt`);
  const start = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20000)));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  const wall = (performance.now() - start) / 1000;
  const t = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').at(-1)?.split(/\s+/) ?? [];
  return {
    code,
    wallS: t.length === 4 ? Number(t[0]) : wall,
    userS: Number(t[1] ?? NaN),
    sysS: Number(t[2] ?? NaN),
    maxRssKb: Number(t[3] ?? NaN),
    stdout,
    stderr,
  };
}

// knotd's CPU (utime+stime, seconds) from /proc: the knotd child of this process (startKnot spawns it).
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function knotPid(): number | null {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(knotd)') && Number(rest[1]) === process.pid) return Number(p);
    } catch {
      /* gone */
    }
  }
  return null;
}
function procCpuS(pid: number | null): number {
  if (pid === null) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICK;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading each tool's output into normalised answers, compared against the truth as they stream in. Only the
// disagreeing domains are kept (with the tool's answer), so a million domains cost no more memory here.

interface Check {
  seen: number;
  missing: number;
  wrong: Map<number, string>;
  extra: number;
  kinds: Record<string, number>;
}

function newCheck(): Check {
  return { seen: 0, missing: 0, wrong: new Map(), extra: 0, kinds: {} };
}

function domainIndex(domain: string): number {
  const m = /^d(\d+)\.bench\.test\.?$/i.exec(domain);
  return m ? Number(m[1]) : -1;
}

function record(check: Check, expected: string[], seen: Uint8Array, domain: string, norm: string): void {
  const i = domainIndex(domain);
  if (i < 0 || i >= expected.length || seen[i]) {
    check.extra++;
    return;
  }
  seen[i] = 1;
  check.seen++;
  const kind = norm.slice(0, norm.indexOf('|'));
  check.kinds[kind] = (check.kinds[kind] ?? 0) + 1;
  if (norm !== expected[i]) check.wrong.set(i, norm);
}

async function checkJsonl(
  file: string,
  expected: string[],
  toNorm: (line: Record<string, unknown>) => { domain: string; norm: string } | null,
): Promise<Check> {
  const check = newCheck();
  const seen = new Uint8Array(expected.length);
  if (!existsSync(file)) {
    check.missing = expected.length;
    return check;
  }
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      check.extra++;
      continue;
    }
    const r = toNorm(parsed);
    if (r) record(check, expected, seen, r.domain, r.norm);
    else check.extra++;
  }
  for (let i = 0; i < expected.length; i++) if (!seen[i]) check.missing++;
  return check;
}

const builtinNorm = (l: Record<string, unknown>) =>
  typeof l.domain === 'string'
    ? { domain: l.domain, norm: normalize({ kind: l.kind as Kind, hosts: (l.hosts as NormHost[]) ?? [] }) }
    : null;

/** The route contract ({domain, outcome, implicit, hosts: [{exchange, preference, addresses}], …}). */
function mxrayNorm(l: Record<string, unknown>) {
  if (typeof l.domain !== 'string') return null;
  const outcome = l.outcome as string | undefined;
  const hosts = ((l.hosts as NormHost[] | undefined) ?? []).map((h) => ({
    exchange: h.exchange,
    preference: h.preference,
    addresses: h.addresses ?? [],
  }));
  let kind: Kind;
  switch (outcome) {
    case 'deliverable':
      kind = l.implicit === true ? 'implicit' : 'mx';
      break;
    case 'null-mx':
      kind = 'null';
      break;
    case 'no-mail-route':
      kind = 'none';
      break;
    case 'no-domain':
      kind = 'nxdomain';
      break;
    default:
      kind = 'fail';
  }
  return { domain: l.domain, norm: normalize({ kind, hosts: kind === 'mx' || kind === 'implicit' ? hosts : [] }) };
}

// ---------------------------------------------------------------------------------------------------------
// massdns (optional, MASSDNS=/path): pass 1 MX of every domain; pass 2 A and AAAA of every unique exchange and of
// every domain without MX (the implicit MX). Output in massdns' ndjson (-o J).

interface MassdnsAnswer {
  type?: string;
  data?: string;
}
interface MassdnsLine {
  name?: string;
  type?: string;
  status?: string;
  data?: { answers?: MassdnsAnswer[] };
}

async function readMassdns(file: string, each: (l: MassdnsLine) => void): Promise<void> {
  if (!existsSync(file)) return;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    try {
      each(JSON.parse(line) as MassdnsLine);
    } catch {
      /* a partial line */
    }
  }
}

async function runMassdns(
  bin: string,
  dir: string,
  server: string,
  domainsFile: string,
): Promise<{ m: Measured; out: string; passes: number }> {
  const resolvers = join(dir, 'massdns-resolvers.txt');
  await writeFile(resolvers, `${server}\n`);
  const base = ['-r', resolvers, '-o', 'J', '-s', String(CONCURRENCY), '-q'];
  const total: Measured = { code: 0, wallS: 0, userS: 0, sysS: 0, maxRssKb: 0, stdout: '', stderr: '' };
  const add = (m: Measured) => {
    total.code = total.code === 0 ? m.code : total.code;
    total.userS += m.userS;
    total.sysS += m.sysS;
    total.maxRssKb = Math.max(total.maxRssKb, m.maxRssKb);
    total.stderr += m.stderr;
  };
  const start = performance.now();
  const mxOut = join(dir, 'massdns-mx.jsonl');
  add(await measured(bin, [...base, '-t', 'MX', '-w', mxOut, domainsFile], dir));

  // Between the passes: the unique exchanges, and the domains with NODATA for MX.
  const mx = new Map<string, { status: string; mx: { preference: number; exchange: string }[] }>();
  const names = new Set<string>();
  await readMassdns(mxOut, (l) => {
    if (!l.name) return;
    const domain = l.name.toLowerCase().replace(/\.$/, '');
    const list = (l.data?.answers ?? [])
      .filter((a) => a.type === 'MX' && a.data)
      .map((a) => {
        const [p, e] = a.data!.trim().split(/\s+/);
        return { preference: Number(p), exchange: (e ?? '').toLowerCase().replace(/\.$/, '') };
      });
    mx.set(domain, { status: l.status ?? 'ERROR', mx: list });
    if (l.status === 'NOERROR' && list.length === 0) names.add(domain);
    for (const r of list) if (r.exchange) names.add(r.exchange);
  });
  const namesFile = join(dir, 'massdns-names.txt');
  await writeFile(namesFile, [...names].join('\n') + '\n');
  const addr = new Map<string, string[]>();
  for (const t of ['A', 'AAAA']) {
    const out = join(dir, `massdns-${t}.jsonl`);
    add(await measured(bin, [...base, '-t', t, '-w', out, namesFile], dir));
    await readMassdns(out, (l) => {
      if (!l.name) return;
      const name = l.name.toLowerCase().replace(/\.$/, '');
      const list = addr.get(name) ?? [];
      for (const a of l.data?.answers ?? []) if (a.type === t && a.data) list.push(a.data.trim());
      addr.set(name, list);
    });
  }
  // Assemble the same per-domain lines as the built-in baseline.
  const out = join(dir, 'massdns-routes.jsonl');
  const lines: string[] = [];
  for (const [domain, r] of mx) {
    let line: { domain: string; kind: Kind; hosts: NormHost[] };
    if (r.status === 'NXDOMAIN') line = { domain, kind: 'nxdomain', hosts: [] };
    else if (r.status !== 'NOERROR') line = { domain, kind: 'fail', hosts: [] };
    else if (r.mx.length > 0 && r.mx.every((x) => x.exchange === '')) line = { domain, kind: 'null', hosts: [] };
    else if (r.mx.length > 0) {
      line = {
        domain,
        kind: 'mx',
        hosts: r.mx.filter((x) => x.exchange !== '').map((x) => ({ ...x, addresses: addr.get(x.exchange) ?? [] })),
      };
    } else {
      const own = addr.get(domain) ?? [];
      line =
        own.length > 0
          ? { domain, kind: 'implicit', hosts: [{ exchange: domain, preference: 0, addresses: own }] }
          : { domain, kind: 'none', hosts: [] };
    }
    lines.push(JSON.stringify(line));
  }
  await writeFile(out, lines.join('\n') + '\n');
  total.wallS = (performance.now() - start) / 1000;
  return { m: total, out, passes: 3 };
}

// ---------------------------------------------------------------------------------------------------------

interface Row {
  tool: string;
  status: 'ok' | 'skipped' | 'failed';
  note: string | null;
  command: string | null;
  domainsPerS: number | null;
  wallS: number | null;
  cpuS: number | null;
  userS: number | null;
  sysS: number | null;
  peakRssMb: number | null;
  knotCpuS: number | null;
  check: {
    answered: number;
    missing: number;
    wrong: number;
    extra: number;
    kinds: Record<string, number>;
    examples: { domain: string; expected: string; got: string }[];
    /** Not serialised: the disagreeing domains' answers, for the pairwise comparison. */
    wrongMap: Map<number, string>;
  } | null;
  vsBuiltin: { speed: number; wall: number; cpu: number; rss: number } | null;
  /** Every run of the tool in the order made (the row itself is the one of median wall time). */
  runs: RunSummary[];
}

interface RunSummary {
  status: Row['status'];
  wallS: number | null;
  cpuS: number | null;
  peakRssMb: number | null;
  knotCpuS: number | null;
  /** Wrong plus missing answers. */
  wrong: number | null;
}

/**
 * The row of a tool's runs: the run of median wall time (the lower middle one of an even count), with every run
 * listed. A run that failed or answered wrong is never hidden: the row is the first such run.
 */
function medianRun(rows: Row[]): Row {
  const summaries: RunSummary[] = rows.map((r) => ({
    status: r.status,
    wallS: r.wallS,
    cpuS: r.cpuS,
    peakRssMb: r.peakRssMb,
    knotCpuS: r.knotCpuS,
    wrong: r.check ? r.check.wrong + r.check.missing : null,
  }));
  const bad = rows.find((r) => r.status !== 'ok' || (r.check && r.check.wrong + r.check.missing + r.check.extra > 0));
  const sorted = [...rows].sort((a, b) => (a.wallS ?? Infinity) - (b.wallS ?? Infinity));
  const row = bad ?? sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...row, runs: summaries };
}

function mxrayCommand(): { cmd: string[] | null; note: string | null } {
  const built = join(ROOT, 'dist/cli/commands/scan.js');
  const src = join(ROOT, 'src/cli/commands/scan.ts');
  if (MXRAY_MODE === 'skip') return { cmd: null, note: 'skipped (--mxray skip)' };
  let cmd: string[] | null = MXRAY_CMD ? MXRAY_CMD.split(/\s+/).filter(Boolean) : null;
  let note: string | null = null;
  if (cmd) note = `--mxray-cmd ${MXRAY_CMD}`;
  else if ((MXRAY_MODE === 'auto' || MXRAY_MODE === 'dist') && existsSync(built)) {
    // Run as `npx mxray` runs it: the file itself.
    cmd = ['./dist/cli/main.js'];
    if (existsSync(src) && statSync(src).mtimeMs > statSync(built).mtimeMs) {
      note = 'dist/ is older than src/cli/commands/scan.ts: run `npm run build` first';
    }
  } else if ((MXRAY_MODE === 'auto' || MXRAY_MODE === 'src') && existsSync(src)) {
    cmd = ['node', '--import', 'tsx', 'src/cli/main.ts'];
  }
  if (!cmd) {
    return {
      cmd: null,
      note: 'mxray scan not available yet (no src/cli/commands/scan.ts nor dist/cli/commands/scan.js)',
    };
  }
  const help = spawnSync(cmd[0]!, [...cmd.slice(1), 'scan', '--help'], { cwd: ROOT, encoding: 'utf8' });
  if (help.status !== 0 || !/Usage: mxray scan/.test(help.stdout)) {
    return {
      cmd: null,
      note: `mxray scan not available yet: \`${cmd.join(' ')} scan --help\` does not show the scan command (src/cli/commands/scan.ts exists but is not registered in main?)`,
    };
  }
  return { cmd, note };
}

function emptyRow(tool: string, status: Row['status'], note: string | null): Row {
  return {
    tool,
    status,
    note,
    command: null,
    domainsPerS: null,
    wallS: null,
    cpuS: null,
    userS: null,
    sysS: null,
    peakRssMb: null,
    knotCpuS: null,
    check: null,
    vsBuiltin: null,
    runs: [],
  };
}

/** Fills a row from a run; `check` is null for a run whose output is not routes (the wire floor). */
function fillRow(row: Row, m: Measured, check: Check | null, expected: string[], width: number): void {
  row.wallS = m.wallS;
  row.userS = m.userS;
  row.sysS = m.sysS;
  row.cpuS = m.userS + m.sysS;
  row.peakRssMb = m.maxRssKb / 1024;
  row.domainsPerS = expected.length / m.wallS;
  if (check === null) return;
  row.check = {
    answered: check.seen,
    missing: check.missing,
    wrong: check.wrong.size,
    extra: check.extra,
    kinds: check.kinds,
    examples: [...check.wrong]
      .slice(0, 3)
      .map(([i, got]) => ({ domain: `d${String(i).padStart(width, '0')}.bench.test`, expected: expected[i]!, got })),
    wrongMap: check.wrong,
  };
}

/** The row of bench/wire-floor.ts. */
const FLOOR = 'wire floor';

const fmt = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

function table(rows: Row[]): string {
  const head = [
    'tool',
    'domains/s',
    'wall s',
    'runs: wall s',
    'CPU s',
    'peak RSS MB',
    'knotd CPU s',
    'wrong',
    'speed×',
    'CPU×',
    'RSS×',
  ];
  const body = rows.map((r) => [
    r.tool + (r.status !== 'ok' ? ` (${r.status})` : ''),
    fmt(r.domainsPerS, 0),
    fmt(r.wallS, 2),
    r.runs.length > 1 ? r.runs.map((x) => fmt(x.wallS, 2)).join(' ') : '—',
    fmt(r.cpuS, 2),
    fmt(r.peakRssMb, 0),
    fmt(r.knotCpuS, 2),
    r.check ? String(r.check.wrong + r.check.missing) : '—',
    r.vsBuiltin ? fmt(r.vsBuiltin.speed, 2) : '—',
    r.vsBuiltin ? fmt(r.vsBuiltin.cpu, 2) : '—',
    r.vsBuiltin ? fmt(r.vsBuiltin.rss, 2) : '—',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Removes a run's output once checked (a million lines each), unless the run went wrong or `--keep` is given. */
async function dropOutput(file: string, row: Row): Promise<void> {
  const clean =
    row.status === 'ok' && row.check !== null && row.check.wrong + row.check.missing + row.check.extra === 0;
  if (clean && !flag('keep')) await rm(file, { force: true });
}

/** A script of bench/ (`builtin-scan`, `wire-floor`) as JavaScript in `dir` (its imports are Node's own, and types). */
async function benchScript(dir: string, name: string): Promise<string> {
  const source = await readFile(join(ROOT, `bench/${name}.ts`), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, outputText);
  return file;
}

/** One pass of bench/warm-passes.ts: the whole scan again in the same process. */
interface WarmPass {
  ms: number;
  domains: number;
  bytes: number;
}

/**
 * The scan library run pass after pass in one process (bench/warm-passes.ts): how much of a one-shot scan is the
 * JavaScript engine warming up. Printed, and kept in the results; null when left out or not possible.
 */
async function warmPasses(
  dir: string,
  server: string,
  domainsFile: string,
): Promise<{ passes: WarmPass[]; startMs: number } | { skipped: string } | null> {
  if (WARM_PASSES === 0) return null;
  if (!existsSync(join(ROOT, 'dist/scan/scan.js'))) return { skipped: 'needs dist/ (npm run build)' };
  const args = [await benchScript(dir, 'warm-passes'), '--root', ROOT, '--server', server];
  args.push('--concurrency', String(CONCURRENCY), '--in', domainsFile, '--passes', String(WARM_PASSES));
  say(`\nrunning: the scan library, ${WARM_PASSES} passes in one process (bench/warm-passes.ts)`);
  const m = await measured('node', args, dir);
  if (m.code !== 0) {
    say(`warm passes: exit ${m.code}: ${(m.stdout + m.stderr).slice(-500)}`);
    return { skipped: `exit ${m.code}` };
  }
  const result = JSON.parse(m.stdout.trim()) as { passes: WarmPass[]; startMs: number };
  const rate = (p: WarmPass) => fmt(p.domains / (p.ms / 1000), 0);
  say(
    `warm passes (each the whole job again, new sockets, resolver and host table; Node started in ${result.startMs} ms):\n` +
      result.passes.map((p, i) => `  pass ${i + 1}: ${fmt(p.ms / 1000, 2)} s, ${rate(p)} domains/s`).join('\n'),
  );
  return result;
}

async function dnsperf(port: number, dir: string, width: number): Promise<Record<string, unknown> | null> {
  if (DNSPERF_SECONDS <= 0) return { skipped: '--dnsperf-seconds 0' };
  if (spawnSync('dnsperf', ['-h'], { stdio: 'ignore' }).error) {
    return { skipped: 'dnsperf not installed (Debian: apt-get install dnsperf)' };
  }
  const file = join(dir, 'dnsperf-queries.txt');
  const n = Math.min(N, 50_000);
  await writeFile(
    file,
    Array.from({ length: n }, (_, i) => `d${String(i).padStart(width, '0')}.bench.test MX`).join('\n') + '\n',
  );
  const args = [
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    file,
    '-l',
    String(DNSPERF_SECONDS),
    '-c',
    '1',
    '-T',
    '1',
    '-q',
    '100',
  ];
  const pid = knotPid();
  const k0 = procCpuS(pid);
  const m = await measured('dnsperf', args, dir);
  const qps = /Queries per second:\s+([\d.]+)/.exec(m.stdout)?.[1];
  const lost = /Queries lost:\s+(\d+)/.exec(m.stdout)?.[1];
  const latency = /Average Latency \(s\):\s+([\d.]+)/.exec(m.stdout)?.[1];
  return {
    command: `dnsperf ${args.join(' ')}`,
    qps: qps ? Number(qps) : null,
    lost: lost ? Number(lost) : null,
    avgLatencyMs: latency ? Number(latency) * 1000 : null,
    dnsperfCpuS: m.userS + m.sysS,
    knotCpuS: procCpuS(pid) - k0,
    raw: m.code === 0 ? undefined : m.stdout + m.stderr,
  };
}

async function main(): Promise<void> {
  if (!knotAvailable()) {
    say('knotd is not installed (Debian: apt-get install knot); nothing to benchmark against.');
    process.exitCode = 1;
    return;
  }
  const dir = await mkdtemp(join(os.tmpdir(), 'mxray-bench-scan-'));
  const width = Math.max(6, String(N - 1).length);
  say(
    `mxray bench:scan — ${N.toLocaleString('en')} domains, concurrency ${CONCURRENCY}, seed ${SEED}, ${os.cpus().length} CPUs`,
  );
  say(`work dir ${dir}`);
  let knot: Awaited<ReturnType<typeof startKnot>> | null = null;
  try {
    const world = await generateWorld({ dir, domains: N, seed: SEED });
    say(
      `world: ${world.records.toLocaleString('en')} records, ${(world.zoneBytes / 1e6).toFixed(1)} MB zone, ` +
        `generated in ${(world.generateMs / 1000).toFixed(2)} s; kinds ${JSON.stringify(world.counts)}`,
    );
    const t0 = performance.now();
    knot = await startKnot({ zoneFiles: [world.zoneFile], timeoutMs: 30_000 + N * 0.2 });
    const knotLoadS = (performance.now() - t0) / 1000;
    const pid = knotPid();
    const server = `${knot.host}:${knot.port}`;
    const knotVersion = spawnSync('knotd', ['-V'], { encoding: 'utf8' }).stdout.trim();
    say(`knotd (${knotVersion}) on ${server}, udp-workers 1: zone loaded and answering in ${knotLoadS.toFixed(2)} s`);

    const perf = await dnsperf(knot.port, dir, width);
    if (perf && 'qps' in perf) {
      say(
        `knot raw capacity (dnsperf, MX, ${DNSPERF_SECONDS} s): ${fmt(perf.qps as number, 0)} q/s, lost ${String(perf.lost)}, knotd CPU ${fmt(perf.knotCpuS as number, 2)} s`,
      );
    } else if (perf) say(`knot raw capacity: ${String(perf.skipped)}`);

    const common = ['--concurrency', String(CONCURRENCY)];
    /** A tool and its runs; `absent` is its row when it cannot run, saying why. */
    type Runner = { tool: string; absent: Row | null; run: (round: number) => Promise<Row> };
    const runners: Runner[] = [];
    /** Runs a tool once: the row of the run, with its answers checked and the knotd CPU over it. */
    const runOnce = async (
      row: Row,
      command: string,
      norm: typeof builtinNorm,
      ok: (code: number | null) => boolean,
      go: () => Promise<{ m: Measured; out: string }>,
    ): Promise<{ row: Row; m: Measured }> => {
      const k0 = procCpuS(pid);
      const { m, out } = await go();
      row.status = ok(m.code) ? 'ok' : 'failed';
      row.command = command;
      row.knotCpuS = procCpuS(pid) - k0;
      fillRow(row, m, await checkJsonl(out, world.expected, norm), world.expected, width);
      if (row.status === 'failed') row.note = `exit ${m.code}: ${m.stderr.slice(-500)}`;
      await dropOutput(out, row);
      return { row, m };
    };

    // (a) mxray scan: over its UDP socket pool (the default), then pipelined over TCP (`--tcp`, RFC 7766)
    const mx = mxrayCommand();
    if (!mx.cmd) say(`mxray scan: ${mx.note}`);
    for (const variant of [
      { tool: 'mxray scan', flags: [] as string[] },
      { tool: 'mxray scan --tcp', flags: ['--tcp'] },
    ]) {
      runners.push({
        tool: variant.tool,
        absent: mx.cmd ? null : emptyRow(variant.tool, 'skipped', mx.note),
        run: async (round) => {
          const cmd = mx.cmd!;
          const out = join(dir, `mxray${variant.flags.join('')}-${round}.jsonl`);
          const flags = [...common, ...variant.flags];
          const args = [...cmd.slice(1), 'scan', world.domainsFile, '--server', server, ...flags, '--out', out];
          say(`running: ${cmd.join(' ')} scan … --server ${server} ${flags.join(' ')}`);
          const command = `${cmd.join(' ')} scan DOMAINS --server ${server} ${flags.join(' ')} --out OUT`;
          const ok = (code: number | null) => [0, 1, 75].includes(code ?? -1);
          const go = async () => ({ m: await measured(cmd[0]!, args, dir), out });
          return (await runOnce(emptyRow(variant.tool, 'ok', mx.note), command, mxrayNorm, ok, go)).row;
        },
      });
    }

    // (b) Node's built-in resolver (c-ares), as plain JavaScript like mxray's dist/: run through tsx, every run
    // would also pay for tsx (0.2 s of start-up here).
    const builtin = await benchScript(dir, 'builtin-scan');
    runners.push({
      tool: 'node dns.Resolver',
      absent: null,
      run: async (round) => {
        const out = join(dir, `builtin-${round}.jsonl`);
        const args = [builtin, '--server', server, ...common];
        args.push('--timeout-ms', TIMEOUT_MS, '--tries', TRIES, '--in', world.domainsFile, '--out', out);
        say(`running: node dns.promises.Resolver (c-ares) --concurrency ${CONCURRENCY}`);
        const command = `node ${['bench/builtin-scan.ts (as JS)', ...args.slice(1)].join(' ')}`;
        const go = async () => ({ m: await measured('node', args, dir), out });
        const { row, m } = await runOnce(
          emptyRow('node dns.Resolver', 'ok', null),
          command,
          builtinNorm,
          (c) => c === 0,
          go,
        );
        if (row.status === 'ok') row.note = `worker: ${m.stdout.trim()}`;
        return row;
      },
    });

    // (c) massdns
    const massdns = process.env.MASSDNS;
    runners.push({
      tool: 'massdns',
      absent: !massdns
        ? emptyRow('massdns', 'skipped', 'set MASSDNS=/path/to/massdns to include it')
        : !existsSync(massdns)
          ? emptyRow('massdns', 'skipped', `MASSDNS=${massdns} does not exist`)
          : null,
      run: async () => {
        say(`running: ${massdns} (3 passes: MX, A, AAAA) -s ${CONCURRENCY}`);
        const command = `${massdns} -r RESOLVERS -o J -s ${CONCURRENCY} -q -t MX|A|AAAA -w OUT NAMES`;
        const row = emptyRow('massdns', 'ok', 'CPU/RSS: sum/max over its 3 passes');
        const go = () => runMassdns(massdns!, dir, server, world.domainsFile);
        return (await runOnce(row, command, builtinNorm, (c) => c === 0, go)).row;
      },
    });

    // (d) The floor: the job's questions over mxray's batched sockets with nothing else done (bench/wire-floor.ts).
    // Not a tool: what a scan takes beyond it is resolving and writing routes.
    const floorNative = join(ROOT, 'native/build/Release/mxray_udp.node');
    const floorCodec = join(ROOT, 'dist/dns/fast-codec.js');
    runners.push({
      tool: FLOOR,
      absent:
        existsSync(floorNative) && existsSync(floorCodec)
          ? null
          : emptyRow(FLOOR, 'skipped', 'needs the native module and dist/ (npm run build)'),
      run: async () => {
        const args = [await benchScript(dir, 'wire-floor'), '--root', ROOT, '--server', server, ...common];
        args.push('--in', world.domainsFile, '--hosts', String(world.hosts));
        say(`running: wire floor (the job's questions, no resolution) --concurrency ${CONCURRENCY}`);
        const row = emptyRow(FLOOR, 'ok', null);
        const k0 = procCpuS(pid);
        const m = await measured('node', args, dir);
        row.knotCpuS = procCpuS(pid) - k0;
        row.command = `node bench/wire-floor.ts (as JS) --server ${server} --concurrency ${CONCURRENCY} --hosts ${world.hosts}`;
        fillRow(row, m, null, world.expected, width);
        row.status = m.code === 0 ? 'ok' : 'failed';
        row.note =
          m.code === 0 ? `questions: ${m.stdout.trim()}` : `exit ${m.code}: ${(m.stdout + m.stderr).slice(-500)}`;
        return row;
      },
    });

    // The tools take turns, round after round, so that a machine that slows down or speeds up for a while (a
    // shared host does) weighs on each of them alike; each tool's row is its run of median wall time.
    const runs = new Map<string, Row[]>(runners.map((r) => [r.tool, []]));
    for (let round = 1; round <= RUNS; round++) {
      if (RUNS > 1) say(`round ${round} of ${RUNS}`);
      // Each round starts with the next tool, so that none always runs first (or right after another).
      for (let k = 0; k < runners.length; k++) {
        const r = runners[(k + round - 1) % runners.length]!;
        if (!r.absent) runs.get(r.tool)!.push(await r.run(round));
      }
    }
    const rows: Row[] = runners.map((r) => r.absent ?? medianRun(runs.get(r.tool)!));

    const base = rows.find((r) => r.tool === 'node dns.Resolver' && r.status === 'ok');
    for (const r of rows) {
      if (!base || r.status !== 'ok' || r.wallS === null) continue;
      r.vsBuiltin = {
        speed: r.domainsPerS! / base.domainsPerS!,
        wall: r.wallS / base.wallS!,
        cpu: r.cpuS! / base.cpuS!,
        rss: r.peakRssMb! / base.peakRssMb!,
      };
    }

    say();
    say(table(rows));
    say(
      `(each row: the run of median wall time of ${RUNS}, the tools taking turns; runs: every run's wall time in order;\n` +
        ' CPU s = user+sys of the tool process; knotd CPU s = the server over the same run; ×: ratio vs node dns.Resolver;\n' +
        ` ${FLOOR}: the job's questions over mxray's batched sockets with no resolution and no output, bench/wire-floor.ts)`,
    );
    for (const r of rows) {
      if (r.note) say(`${r.tool}: ${r.note}`);
      if (r.check && (r.check.wrong > 0 || r.check.missing > 0 || r.check.extra > 0)) {
        say(`${r.tool}: ${r.check.wrong} wrong, ${r.check.missing} missing, ${r.check.extra} extra lines; e.g.`);
        for (const e of r.check.examples) say(`  ${e.domain}\n    expected ${e.expected}\n    got      ${e.got}`);
      } else if (r.check) say(`${r.tool}: all ${r.check.answered} domains agree with the world`);
    }
    // Pairwise: two tools disagree on a domain when their normalised answers differ; both right means equal.
    const ok = rows.filter((r) => r.status === 'ok' && r.check);
    const agreement: Record<string, number> = {};
    for (let a = 0; a < ok.length; a++) {
      for (let b = a + 1; b < ok.length; b++) {
        const key = `${ok[a]!.tool} vs ${ok[b]!.tool}`;
        const wa = ok[a]!.check!.wrongMap;
        const wb = ok[b]!.check!.wrongMap;
        let n = 0;
        for (const i of new Set([...wa.keys(), ...wb.keys()])) if (wa.get(i) !== wb.get(i)) n++;
        agreement[key] = n;
      }
    }

    const warm = await warmPasses(dir, server, world.domainsFile);

    const stamp = new Date()
      .toISOString()
      .replace(/[:.]/g, '-')
      .replace(/-\d+Z$/, 'Z');
    const resultsDir = join(ROOT, 'bench/results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, `scan-${stamp}.json`);
    await writeFile(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: {
            cpus: os.cpus().length,
            model: os.cpus()[0]?.model,
            memGb: os.totalmem() / 2 ** 30,
            node: process.version,
            kernel: os.release(),
          },
          config: {
            domains: N,
            runs: RUNS,
            hosts: world.hosts,
            concurrency: CONCURRENCY,
            seed: SEED,
            timeoutMs: Number(TIMEOUT_MS),
            tries: Number(TRIES),
          },
          world: {
            records: world.records,
            zoneBytes: world.zoneBytes,
            kinds: world.counts,
            generateS: world.generateMs / 1000,
          },
          knot: { version: knotVersion, udpWorkers: 1, loadS: knotLoadS, dnsperf: perf },
          rows,
          warmPasses: warm,
          pairwiseDisagreements: agreement,
        },
        (k, v: unknown) => (k === 'wrongMap' ? undefined : v),
        2,
      ) + '\n',
    );
    say(`\nresults: ${file}`);
  } finally {
    await knot?.close();
    if (flag('keep')) say(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
