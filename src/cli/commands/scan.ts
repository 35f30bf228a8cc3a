/**
 * @module cli/commands/scan
 * `mxray scan [FILE|-]`: the mail route of every domain in a file, streamed to JSONL or CSV, resumable; with
 * `--queue redis://…` the routes are resolved (or the domains audited) by `mxray worker` processes (scan/queue,
 * docs/scan-queue.md).
 * Thin: argv → options → `scanDomains` or `startQueueScan` → renderers; files, signals, the TTY and exit codes
 * live here.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { createReadStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, stat, truncate } from 'node:fs/promises';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { MxError } from '../../core/errors.js';
import {
  renderScanCheckCsvHeader,
  renderScanCheckCsvRow,
  renderScanCsvHeader,
  renderScanCsvRow,
  renderScanJsonl,
  writeScanJsonl,
  renderScanProgress,
  renderScanSummary,
} from '../../report/scan.js';
import type { ResumeIndex } from '../../scan/resume.js';
import { createResumeIndexer } from '../../scan/resume.js';
import type { QueueScan } from '../../scan/queue/coordinator.js';
import type { RedisTarget } from '../../scan/queue/url.js';
import { parseRedisUrl } from '../../scan/queue/url.js';
import { createScanPool, createScanResolver } from '../../scan/resolver.js';
import type { ScanCheckRecord } from '../../scan/check.js';
import type { ScanRecord } from '../../scan/record.js';
import { createRouteLane } from '../../scan/lane.js';
import { streamLines } from '../../scan/lines.js';
import { scanDomainBatches } from '../../scan/scan.js';
import { createScanSummary } from '../../scan/summary.js';
import type { AuditSmtpCliOptions, DnsCliOptions } from '../context.js';
import {
  addAuditSmtpOptions,
  addDnsOptions,
  auditSmtp,
  boundHeapGrowth,
  buildResolver,
  interruptSignal,
  parsePositiveNumber,
  useColor,
} from '../context.js';
import { EXIT } from '../exit-codes.js';

interface ScanCliOptions extends DnsCliOptions, AuditSmtpCliOptions {
  concurrency: number;
  qps?: number;
  format: 'jsonl' | 'csv';
  out?: string;
  resume?: boolean;
  column?: string;
  queue?: string;
  chunk: number;
  what: 'route' | 'check';
  smtp: boolean;
}

/** Domains per chunk of a distributed audit unless --chunk says otherwise. */
const AUDIT_CHUNK = 20;

/** The largest --chunk: a chunk travels as one job, one Redis value. */
const MAX_CHUNK = 100_000;

/** Options that only a local scan uses: with --queue the workers resolve and audit, with their own. */
const LOCAL_ONLY = [
  'concurrency',
  'qps',
  'server',
  'lab',
  'timeout',
  'tries',
  'tcp',
  'smtpPort',
  'smtpConcurrency',
  'helo',
] as const;

/** The flag of an option by its commander name: smtpPort → --smtp-port. */
const optionFlag = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Checks the --queue and --chunk combination; the Redis target when distributed, else null. */
function queueTarget(options: ScanCliOptions, command: Command): RedisTarget | null {
  const given = (name: string) => command.getOptionValueSource(name) === 'cli';
  if (options.queue === undefined) {
    if (given('chunk')) throw new MxError('MX_INVALID_ARGUMENT', '--chunk needs --queue (a local scan has no chunks)');
    return null;
  }
  if (options.chunk > MAX_CHUNK) {
    throw new MxError('MX_INVALID_ARGUMENT', `--chunk must be at most ${MAX_CHUNK} (a chunk is one Redis value)`);
  }
  const local = LOCAL_ONLY.filter(given);
  if (local.length > 0) {
    throw new MxError(
      'MX_INVALID_ARGUMENT',
      `with --queue the workers resolve the domains: give ${local.map(optionFlag).join(', ')} to \`mxray worker\` instead`,
    );
  }
  return parseRedisUrl(options.queue);
}

/** Invalid line numbers listed on stderr at most. */
const LIST_INVALID = 10;

/** Quotes an argument for a POSIX shell when it needs it. */
function shellQuote(arg: string): string {
  return /^[\w./:=@,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The resume index of `path`, read in chunks, with a torn last line truncated away; null when it does not exist. */
async function readOutputIndex(path: string): Promise<ResumeIndex | null> {
  const indexer = createResumeIndexer();
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) indexer.push(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const index = indexer.finish();
  if (index.torn) await truncate(path, index.validBytes);
  return index;
}

/** Counts input lines in the background (for the progress line); null for stdin. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) n++;
    last = chunk.at(-1) ?? last;
  }
  return last === 0x0a ? n : n + 1;
}

/** Record by record as batches of one (the queue's records, the audits: a few a second, not thousands). */
async function* singles<T>(records: AsyncIterable<T>): AsyncGenerator<T[], void, undefined> {
  for await (const record of records) yield [record];
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Records go out in blocks of 64 KiB (one write each instead of one per record: a tenth of a million records a
 * minute is a tenth of a million writes otherwise), and never more than 100 ms after they were made, so a slow
 * scan still shows its records as they come. Each record is encoded into the block as it comes: cheaper than
 * joining the text of thousands of records into one string to encode at once.
 */
class BatchedWriter {
  private static readonly BLOCK = 65_536;
  private block = Buffer.allocUnsafe(BatchedWriter.BLOCK);
  private used = 0;
  private full: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  /** Adds a record's text; true when a block is full and the caller should `drain` (and wait for it) now. */
  add(text: string): boolean {
    // A UTF-16 unit takes at most three octets in UTF-8.
    if (this.block.length - this.used < 3 * text.length) this.seal(Math.max(BatchedWriter.BLOCK, 3 * text.length));
    this.used += this.block.write(text, this.used);
    return this.added();
  }

  /** Adds a record as its JSON line (written straight into the block when it can be: see `writeScanJsonl`). */
  addJsonl(record: ScanRecord | ScanCheckRecord): boolean {
    const end = writeScanJsonl(record, this.block, this.used);
    if (end < 0) return this.add(renderScanJsonl(record));
    this.used = end;
    return this.added();
  }

  private added(): boolean {
    if (this.full.length > 0) return true;
    this.timer ??= setTimeout(() => void this.flush(), 100);
    return false;
  }

  /** Writes the full blocks (all at once, so that they stay in order), then waits while the stream is full. */
  async drain(): Promise<void> {
    const out = this.full;
    this.full = [];
    let room = true;
    for (const block of out) room = this.stream.write(block);
    if (!room) await once(this.stream, 'drain');
  }

  /** Writes everything added so far. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.seal(BatchedWriter.BLOCK);
    await this.drain();
  }

  private seal(size: number): void {
    if (this.used === 0 && this.block.length >= size) return;
    if (this.used > 0) this.full.push(this.block.subarray(0, this.used));
    this.block = Buffer.allocUnsafe(size);
    this.used = 0;
  }
}

export function registerScan(program: Command): void {
  const scan = addDnsOptions(
    program
      .command('scan')
      .description(
        'resolve the mail route (or, with --what check, the audit) of every domain in a file (one per line, or a CSV column), streamed',
      )
      .argument('[file]', 'the input file; - or nothing for stdin', '-'),
    { json: false, bulk: true },
  )
    .addOption(
      new Option('--concurrency <n>', 'domains in flight at most')
        .default(32)
        .argParser(parsePositiveNumber('--concurrency', true)),
    )
    .addOption(
      new Option('--qps <n>', 'domains started per second at most').argParser(parsePositiveNumber('--qps', false)),
    )
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
    .addOption(new Option('--out <file>', 'write records to this file instead of stdout'))
    .addOption(
      new Option('--resume', 'continue an interrupted scan: skip the lines --out already holds, append the rest'),
    )
    .addOption(new Option('--column <name>', 'the input is CSV: read domains from this column of its header'))
    .addOption(
      new Option(
        '--queue <redis-url>',
        'distribute the scan: queue chunks on this Redis (redis://HOST:PORT) for `mxray worker` processes',
      ),
    )
    .addOption(
      new Option('--chunk <n>', 'domains per queued chunk (with --queue; 20 with --what check)')
        .default(500)
        .argParser(parsePositiveNumber('--chunk', true)),
    )
    .addOption(
      new Option('--what <what>', 'route: the mail route of each domain; check: the whole audit of `mxray check`')
        .choices(['route', 'check'])
        .default('route'),
    )
    .option('--no-smtp', 'with --what check: do not connect to the mail servers');
  addAuditSmtpOptions(scan, 'with --what check: ').action(
    async (file: string, options: ScanCliOptions, command: Command) => {
      const target = queueTarget(options, command);
      boundHeapGrowth();
      const checking = options.what === 'check';
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';
      const checkOnly = ['smtp', 'smtpPort', 'smtpConcurrency', 'helo'].filter(given);
      if (!checking && checkOnly.length > 0) {
        const flags = checkOnly.map((o) => (o === 'smtp' ? '--no-smtp' : optionFlag(o)));
        throw new MxError(
          'MX_INVALID_ARGUMENT',
          `${flags.join(', ')} ${flags.length === 1 ? 'applies' : 'apply'} only with --what check`,
        );
      }
      if (options.resume && options.out === undefined) {
        throw new MxError('MX_INVALID_ARGUMENT', '--resume needs --out, the file the interrupted scan wrote');
      }
      if (options.resume && options.format !== 'jsonl') {
        throw new MxError('MX_INVALID_ARGUMENT', '--resume works with --format jsonl (CSV rows carry no line numbers)');
      }
      if (file !== '-') {
        try {
          await access(file, constants.R_OK);
          if ((await stat(file)).isDirectory()) throw new Error('it is a directory');
        } catch (err) {
          throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
        }
      }
      const resumed = options.resume && options.out !== undefined ? await readOutputIndex(options.out) : null;
      // Made (and MXRAY_UDP_IO checked) before the lab starts, so a wrong setting leaves nothing running. With
      // --queue the workers resolve and their own setting counts: the pool here is never used.
      const pool = createScanPool(options.tcp === true, target ? {} : process.env);
      // With --queue the workers resolve: no resolver here.
      const { resolver: base, lab } = target
        ? { resolver: null, lab: null }
        : await buildResolver(options, { smtp: checking && options.smtp });
      // One resolver and one bounded cache for the whole scan, so shared mail hosts are asked once.
      const resolver =
        base &&
        createScanResolver({
          servers: base.servers,
          timeoutMs: Math.round(Math.min(options.timeout ?? 2, 10) * 1000),
          attempts: options.tries,
          tcp: options.tcp === true,
          pool,
        });
      // The routes, with the facts of each exchange kept once for the whole scan.
      const lane = resolver && createRouteLane({ resolver });
      const stop = interruptSignal();
      // Loaded on use: BullMQ and its Redis client for a distributed scan, the audit's libraries (SPF, DMARC,
      // TLS…) for a local --what check (with --queue the workers audit: only the records' module here).
      const queue = target ? await import('../../scan/queue/coordinator.js') : null;
      const audit = checking && !target ? await import('../../scan/check.js') : null;
      const audits = checking ? await import('../../scan/check-record.js') : null;
      const input = file === '-' ? process.stdin : createReadStream(file);
      // A read error ends the lines; it is reported after the loop (lines.error).
      const lines = streamLines(input);
      const skip = resumed ? { skip: (line: number) => resumed.done.has(line) } : {};
      const column = options.column !== undefined ? { column: options.column } : {};
      const driver = {
        concurrency: options.concurrency,
        signal: stop,
        ...(options.qps !== undefined ? { ratePerSecond: options.qps } : {}),
        ...column,
        ...skip,
      };
      const local: AsyncIterable<(ScanRecord | ScanCheckRecord)[]> | null = target
        ? null
        : audit
          ? singles(
              audit.scanChecks(lines, {
                ...driver,
                smtpConcurrency: options.smtpConcurrency,
                check: {
                  resolver: resolver!,
                  smtp: {
                    enabled: options.smtp,
                    ...auditSmtp(options, lab, { timeoutGiven: given('timeout'), hostHelo: true }),
                  },
                  authoritativePort: lab?.dns.port ?? 53,
                },
              }),
            )
          : scanDomainBatches(lines, { ...driver, resolver: resolver!, lane: lane! });
      // Connected and registered before the output is opened: an unreachable Redis leaves the output untouched.
      let distributed: QueueScan | null = null;
      if (target && queue) {
        try {
          distributed = await queue.startQueueScan(lines, {
            redis: target,
            task: checking ? { what: 'check', smtp: options.smtp } : { what: 'route' },
            // An audit takes seconds where a route takes milliseconds: smaller chunks spread them over the
            // workers.
            chunkSize: checking && !given('chunk') ? AUDIT_CHUNK : options.chunk,
            signal: stop,
            ...skip,
            ...column,
            onEvent: (e) => {
              if (e.kind === 'queue') process.stderr.write(`mxray: scan ${e.scan} queued on ${target.display}\n`);
              else if (e.kind === 'no-workers') {
                process.stderr.write(
                  `mxray: no worker has served this scan for ${Math.round(e.waitedMs / 1000)} s; start one with: mxray worker --queue ${target.display}\n`,
                );
              } else if (e.kind === 'chunk-failed') {
                process.stderr.write(
                  `mxray: chunk ${e.chunk.chunk} (lines ${e.chunk.first}–${e.chunk.last}) failed on the workers: ${e.chunk.reason}\n`,
                );
              }
            },
          });
        } catch (err) {
          input.destroy();
          await pool.close();
          throw err;
        }
      }
      let out: WriteStream | null = null;
      const sink: NodeJS.WritableStream = options.out
        ? (out = createWriteStream(options.out, { flags: resumed ? 'a' : 'w' }))
        : process.stdout;
      const output = new BatchedWriter(sink);
      const tty = process.stderr.isTTY === true;
      let total: number | null = null;
      if (tty && file !== '-') {
        countLines(file).then(
          (n) => (total = n),
          () => undefined,
        );
      }
      const summary = createScanSummary();
      const invalid: number[] = [];
      const started = performance.now();
      let lastDraw = 0;
      let done = resumed?.done.size ?? 0;
      let errors = 0;
      if (resumed) {
        process.stderr.write(
          `mxray: resuming: ${resumed.done.size} line(s) already in ${options.out}` +
            `${resumed.torn ? '; a torn last line was cut away' : ''}\n`,
        );
      }
      try {
        if (options.format === 'csv') {
          await write(sink, checking ? renderScanCheckCsvHeader() : renderScanCsvHeader());
        }
        const batches = distributed ? singles(distributed.records) : local!;
        for await (const batch of batches) {
          for (const record of batch) {
            const audited = audits && 'findings' in record ? record : null;
            const route = audited && audits ? audits.routeOfCheck(audited) : (record as ScanRecord);
            const full =
              options.format === 'jsonl'
                ? output.addJsonl(record)
                : output.add(audited ? renderScanCheckCsvRow(audited) : renderScanCsvRow(route));
            if (full) await output.drain();
            summary.add(route);
            if (audited) summary.addFindings(audited.findings);
            done++;
            if (record.error !== null) {
              errors++;
              if (invalid.length < LIST_INVALID) invalid.push(record.line);
            }
          }
          const now = performance.now();
          if (tty && now - lastDraw > 200) {
            lastDraw = now;
            process.stderr.write(
              '\r' + renderScanProgress({ done, total, errors, elapsedMs: now - started }) + '\x1b[K',
            );
          }
        }
        const failed = lines.error;
        if (failed)
          throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${file}: ${failed.message}`, { cause: failed });
      } finally {
        await output.flush();
        if (out) {
          out.end();
          await once(out, 'close');
        }
        input.destroy();
        await pool.close();
        await lab?.close();
        if (tty) process.stderr.write('\r\x1b[K');
      }
      const result = summary.result();
      process.stderr.write(
        renderScanSummary(result, {
          color: useColor(process.stderr),
          elapsedMs: performance.now() - started,
          // A distributed scan's questions are the workers'.
          ...(resolver
            ? {
                dns: {
                  queries: pool.stats.sent,
                  resent: pool.stats.resent,
                  timedOut: pool.stats.timedOut,
                  cached: resolver.cache.hits + (lane?.hits ?? 0),
                },
              }
            : {}),
        }),
      );
      if (result.errors > 0) {
        const more = result.errors > invalid.length ? ', …' : '';
        process.stderr.write(
          `mxray: ${result.errors} invalid line(s) skipped (records with "error"): line ${invalid.join(', ')}${more}\n`,
        );
      }
      const args = process.argv.slice(2);
      if (!args.includes('--resume')) args.push('--resume');
      const resumeHint = options.out
        ? `To continue:\n  mxray ${args.map(shellQuote).join(' ')}\n`
        : 'The output went to stdout, so the scan cannot be resumed (use --out FILE to make it resumable).\n';
      const queued = distributed?.result();
      if (queued && queued.duplicates > 0) {
        process.stderr.write(
          `mxray: ${queued.duplicates} duplicate record(s) dropped (chunks retried after a worker stopped); each line was written once\n`,
        );
      }
      // Chunks lost without a stop: failed on the workers, or left when Redis went away.
      const missing = queued ? [...queued.failed, ...(stop.aborted ? [] : queued.abandoned)] : [];
      if (queued && (queued.lost !== null || missing.length > 0)) {
        const owed = missing.reduce((n, c) => n + c.owed, 0);
        process.stderr.write(
          `mxray: ${queued.lost ?? `${missing.length} chunk(s) failed on the workers`}; ` +
            `${owed} line(s) of the chunks in flight are not in the output. ${resumeHint}`,
        );
        process.exitCode = EXIT.tempfail;
        return;
      }
      if (stop.aborted) {
        process.stderr.write(`mxray: interrupted; the domains in flight were finished and written. ${resumeHint}`);
        process.exitCode = EXIT.interrupted;
        return;
      }
      process.exitCode = EXIT.ok;
    },
  );
}
