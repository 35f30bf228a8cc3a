/**
 * `mxray scan --what check`: the audit of `mxray check` for every domain of a list, against the lab (its DNS
 * and its SMTP receivers on loopback), as JSONL and CSV, with the summary's top findings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScanCheckRecord } from '../../src/scan/check.js';
import type { CliProcess } from '../helpers/cli.js';
import { runCli, startCli } from '../helpers/cli.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'mxray-scan-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, 'domains.txt');
writeFileSync(input, ['example.com', 'nullmx.example', '# a comment', 'bad..name', 'workspace.example', ''].join('\n'));
const LAB = ['--lab', 'examples/zones', '--helo', 'client.example.net'];

/** The records of a `--what check` JSONL file. */
const readChecks = (file: string): ScanCheckRecord[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ScanCheckRecord);

describe('mxray scan --what check', () => {
  it('audits every domain like mxray check, SMTP included, with the top findings in the summary', async () => {
    const out = join(dir, 'check.jsonl');
    const r = await runCli(
      ['scan', input, ...LAB, '--what', 'check', '--smtp-concurrency', '1', '--out', out],
      {},
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const records = readChecks(out);
    assert.deepEqual(
      records.map((x) => x.line).sort((a, b) => a - b),
      [1, 2, 4, 5],
    );
    const by = new Map(records.map((x) => [x.input, x]));

    const example = by.get('example.com')!;
    assert.equal(example.error, null);
    assert.equal(example.route?.outcome, 'deliverable');
    assert.deepEqual(
      example.route?.hosts.map((h) => h.exchange),
      ['mail1.example.com', 'mail2.example.com', 'mail3.example.com'],
    );
    // The lab's receivers were probed: their certificates are the lab's own, so not trusted.
    const smtp = example.sections.smtp as { probes?: unknown[] } | undefined;
    assert.ok(smtp, JSON.stringify(Object.keys(example.sections)));
    assert.ok(
      example.findings.some((f) => f.id === 'smtp.cert-untrusted'),
      JSON.stringify(example.findings),
    );
    assert.equal(example.summary.error + example.summary.warning + example.summary.info, example.findings.length);

    assert.equal(by.get('nullmx.example')!.route?.outcome, 'null-mx');
    assert.ok(!by.get('nullmx.example')!.findings.some((f) => f.id.startsWith('smtp.')));

    const bad = by.get('bad..name')!;
    assert.equal(bad.route, null);
    assert.match(bad.error ?? '', /label 2 is empty/);

    assert.match(r.stderr, /scanned 4 lines/);
    assert.match(r.stderr, /top findings\n(.*\n)*\s+⚠ smtp\.cert-untrusted\s+2\n/);
    assert.match(r.stderr, /hosted-mail providers\n\s+Google Workspace\s+1/);
  });

  it('writes one CSV row per domain with the counts by severity and the finding ids', async () => {
    const r = await runCli(['scan', input, ...LAB, '--what', 'check', '--no-smtp', '--format', 'csv'], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows[0], 'domain,outcome,errors,warnings,info,findings,error');
    const example = rows.find((row) => row.startsWith('example.com,'))!;
    assert.match(example, /^example\.com,deliverable,\d+,\d+,\d+,[a-z.;-]*dnssec\.unsigned[a-z.;-]*,$/);
    assert.ok(!example.includes('smtp.'), 'no SMTP findings with --no-smtp');
    assert.ok(rows.some((row) => row.startsWith('bad..name,,,,,,')));
    assert.equal(rows.length, 5);
  });

  it('refuses check options without --what check, and the SMTP options of workers with --queue', async () => {
    const a = await runCli(['scan', input, ...LAB]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--helo applies only with --what check/);
    const b = await runCli(['scan', input, '--what', 'check', '--queue', 'redis://127.0.0.1:1', '--smtp-port', '2525']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /give --smtp-port to `mxray worker` instead/);
  });
});

/** `mxray worker` on `redis` with `args`, once it says it is waiting for scans. */
async function startWorker(args: string[], redis: RedisServer): Promise<CliProcess> {
  const worker = startCli(['worker', '--queue', redis.url, ...args], { timeoutMs: 120_000 });
  for (let waited = 0; !/waiting for scans/.test(worker.stderr()); waited += 20) {
    if (waited > 20_000 || worker.child.exitCode !== null)
      throw new Error(`the worker did not start:\n${worker.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return worker;
}

describe('mxray scan --what check --queue with an mxray worker (Redis, BullMQ)', () => {
  let redis: RedisServer;
  let worker: CliProcess;
  before(async () => {
    redis = await startRedis();
    worker = await startWorker([...LAB, '--smtp-concurrency', '1'], redis);
  });
  after(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.done.catch(() => undefined);
    await redis?.close();
  });

  /** Each line's outcome and finding ids, the part of an audit that does not change from run to run. */
  const essence = (records: ScanCheckRecord[]) =>
    records
      .map(
        (x) =>
          `${x.line} ${x.route?.outcome ?? x.error} ${x.findings
            .map((f) => f.id)
            .sort()
            .join(',')}`,
      )
      .sort();

  it('audits every domain on the workers as a local scan does, SMTP included or not (--no-smtp)', async () => {
    const local = join(dir, 'local.jsonl');
    const l = await runCli(['scan', input, ...LAB, '--what', 'check', '--out', local], {}, 60_000);
    assert.equal(l.code, 0, l.stderr);
    const out = join(dir, 'queued.jsonl');
    const r = await runCli(
      ['scan', input, '--what', 'check', '--queue', redis.url, '--chunk', '2', '--out', out],
      {},
      90_000,
    );
    assert.equal(r.code, 0, `${r.stderr}\nworker:\n${worker.stderr()}`);
    const queued = readChecks(out);
    assert.deepEqual(
      queued.map((x) => x.line).sort((a, b) => a - b),
      [1, 2, 4, 5],
    );
    assert.deepEqual(essence(queued), essence(readChecks(local)));
    assert.ok(queued.find((x) => x.input === 'example.com')!.findings.some((f) => f.id === 'smtp.cert-untrusted'));
    assert.match(r.stderr, /top findings\n(.*\n)*\s+⚠ smtp\.cert-untrusted\s+2\n/);
    assert.match(worker.stderr(), /finished chunk \d+ of scan/);

    const quiet = join(dir, 'queued-no-smtp.jsonl');
    const q = await runCli(
      ['scan', input, '--what', 'check', '--no-smtp', '--queue', redis.url, '--out', quiet],
      {},
      90_000,
    );
    assert.equal(q.code, 0, q.stderr);
    const records = readChecks(quiet);
    assert.equal(records.length, 4);
    assert.ok(
      records.every((x) => !x.findings.some((f) => f.id.startsWith('smtp.'))),
      JSON.stringify(records),
    );
    assert.ok(records.find((x) => x.input === 'example.com')!.findings.some((f) => f.id === 'dnssec.unsigned'));
  });

  it('resumes an interrupted distributed audit: the lines written are kept, a torn one is cut, the rest audited once', async () => {
    const full = join(dir, 'full.jsonl');
    const l = await runCli(['scan', input, ...LAB, '--what', 'check', '--no-smtp', '--out', full], {}, 60_000);
    assert.equal(l.code, 0, l.stderr);
    const lines = readFileSync(full, 'utf8').trim().split('\n');
    // What an interrupted scan leaves: two whole records, then half of a third.
    const out = join(dir, 'resumed.jsonl');
    writeFileSync(out, `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 40)}`);
    const kept = [lines[0], lines[1]].map((x) => (JSON.parse(x!) as ScanCheckRecord).line);
    const r = await runCli(
      ['scan', input, '--what', 'check', '--no-smtp', '--queue', redis.url, '--resume', '--out', out],
      {},
      90_000,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming: 2 line\(s\) already in .*; a torn last line was cut away/);
    const records = readChecks(out);
    assert.deepEqual(
      records.map((x) => x.line).sort((a, b) => a - b),
      [1, 2, 4, 5],
    );
    assert.deepEqual(
      records.slice(0, 2).map((x) => x.line),
      kept,
    );
    assert.ok(records.every((x) => 'findings' in x));
  });

  it('writes a distributed audit as CSV, and the same worker resolves a route scan in between', async () => {
    const [csv, routes] = await Promise.all([
      runCli(['scan', input, '--what', 'check', '--no-smtp', '--queue', redis.url, '--format', 'csv'], {}, 90_000),
      runCli(['scan', input, '--queue', redis.url], {}, 90_000),
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\n');
    assert.equal(rows[0], 'domain,outcome,errors,warnings,info,findings,error');
    assert.match(
      rows.find((row) => row.startsWith('example.com,'))!,
      /^example\.com,deliverable,\d+,\d+,\d+,[a-z.;-]+,$/,
    );
    assert.equal(rows.length, 5);
    assert.equal(routes.code, 0, routes.stderr);
    const lines = routes.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; outcome: string | null; findings?: unknown });
    assert.deepEqual(lines.map((l) => `${l.line} ${l.outcome}`).sort(), [
      '1 deliverable',
      '2 null-mx',
      '4 null',
      '5 deliverable',
    ]);
    assert.ok(lines.every((l) => l.findings === undefined));
  });
});

describe('Ctrl-C of a distributed audit against mail servers that never greet', () => {
  let redis: RedisServer;
  let lab: Lab;
  let worker: CliProcess;
  const slowInput = join(dir, 'slow.txt');
  before(async () => {
    redis = await startRedis();
    // Every exchange of example.com accepts the connection and says nothing: each audit waits out its SMTP
    // time-outs, so a chunk of them takes far longer than the stop.
    const silent = {
      'mail1.example.com': 'silent',
      'mail2.example.com': 'silent',
      'mail3.example.com': 'silent',
    } as const;
    lab = await startLab({ zones: ['examples/zones'], smtp: { faults: silent } });
    writeFileSync(slowInput, Array.from({ length: 60 }, () => 'example.com').join('\n') + '\n');
    const server = `${lab.dns.host}:${lab.dns.port}`;
    worker = await startWorker(
      // Three chunks held at once: a stop must wait for every one of them (BullMQ lists active jobs two at a time).
      [
        '--server',
        server,
        '--smtp-port',
        String(lab.smtp!.port),
        '--timeout',
        '2',
        '--concurrency',
        '4',
        '--chunks',
        '3',
      ],
      redis,
    );
  });
  after(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.done.catch(() => undefined);
    await lab?.close();
    await redis?.close();
  });

  it('the workers start no more of its domains and hand in those in flight; the scan ends for --resume', async () => {
    const out = join(dir, 'stopped.jsonl');
    const scan = startCli(['scan', slowInput, '--what', 'check', '--queue', redis.url, '--out', out], {
      timeoutMs: 90_000,
    });
    for (let waited = 0; !/took chunk 3 of/.test(worker.stderr()); waited += 20) {
      if (waited > 30_000) throw new Error(`the worker took no third chunk:\n${worker.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    scan.child.kill('SIGINT');
    const r = await scan.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /To continue:\n {2}mxray .*--resume/);
    // Every chunk held was stopped part-way: the domains started were handed in, the others left for --resume.
    for (const chunk of [1, 2, 3]) {
      const handedIn = new RegExp(
        `dropped chunk ${chunk} of scan \\w+: the scan was stopped; the domains in flight were handed in`,
      );
      assert.match(worker.stderr(), handedIn);
    }
    const records = readChecks(out);
    assert.ok(records.length < 40, `${records.length} audits written: the chunks were not finished`);
    assert.equal(new Set(records.map((x) => x.line)).size, records.length);
    assert.ok(records.every((x) => x.input === 'example.com' && 'findings' in x));
  });
});
