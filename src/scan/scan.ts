/**
 * @module scan/scan
 * The scan driver: routes (RFC 5321 §5.1, as `resolveRoute` computes them: scan/lane) for a stream of domains
 * with a bounded window of look-ups in flight and an optional rate limit. Input is pulled only while the window
 * has room and each record is yielded as it completes, so memory stays flat however long the input is. One
 * resolver and one table of exchanges (with in-flight de-duplication) serve the whole scan, so the A/AAAA
 * look-ups of mail hosts shared by many domains are asked once.
 */
import { performance } from 'node:perf_hooks';
import { isMxError } from '../core/errors.js';
import type { Rng } from '../core/random.js';
import type { Resolver } from '../dns/resolver.js';
import type { RouteLane } from './lane.js';
import { createRouteLane } from './lane.js';
import type { InputParserOptions, ScanInput } from './input.js';
import type { ScanLines, ScanRead, ScanReader } from './reader.js';
import { createScanReader } from './reader.js';
import type { TokenBucketOptions } from './rate-limit.js';
import { createTokenBucket } from './rate-limit.js';
import type { ScanRecord } from './record.js';
import { errorRecord } from './record.js';

/** What drives any scan: input, window, rate and stop. */
export interface ScanDriverOptions extends InputParserOptions {
  /** Domains in flight at most. Default 32. */
  concurrency?: number;
  /** Domains started per second at most (a token bucket); unlimited when absent. */
  ratePerSecond?: number;
  /** Clock and sleep for the rate limiter (tests). */
  rateLimit?: Pick<TokenBucketOptions, 'clock' | 'sleep'>;
  /** Input lines (1-based) to skip, e.g. those an interrupted scan already wrote (`--resume`). */
  skip?: (line: number) => boolean;
  /**
   * Stops the scan gracefully: no new domain is taken, the ones in flight finish and are yielded, then the
   * iteration ends. Read the signal afterwards to know whether the scan was complete.
   */
  signal?: AbortSignal;
}

export interface ScanOptions extends ScanDriverOptions {
  resolver: Resolver;
  /** Randomness for shuffling equal MX preferences. */
  rng?: Rng;
  /** The routes' lane, to read its counters (default: a new one on `resolver` and `rng`). */
  lane?: RouteLane;
}

/** The per-domain work of a scan, and the record of a line that could not be done. */
export interface ScanWork<R> {
  /** The work for one domain: a fresh object, which the driver completes in place with `input`, `line`, `error`. */
  run(domain: string): Promise<Omit<R, 'input' | 'line' | 'error'>>;
  /**
   * `run` with callbacks instead of a promise, used instead of it when given (a scan runs millions): exactly one
   * of `done` and `fail` is called, never before this returns.
   */
  runThen?(
    domain: string,
    done: (result: Omit<R, 'input' | 'line' | 'error'>) => void,
    fail: (err: unknown) => void,
  ): void;
  /** The record of an invalid line or of a domain whose work threw an MxError. */
  failed(source: ScanInput, error: string, elapsedMs: number): R;
}

/**
 * Scans a stream of input lines (one domain each, or CSV with `column`), yielding one record per domain line
 * in completion order; blank lines, comments and the CSV header yield nothing. Invalid names yield a record with
 * `error` set. Throws MxError MX_INVALID_ARGUMENT when the CSV header lacks the column. Records of domains with
 * the same exchange share that exchange's address arrays: read them, do not change them.
 * @example
 * for await (const record of scanDomains(readLines(file), { resolver, concurrency: 64 })) {
 *   out.write(JSON.stringify(record) + '\n');
 * }
 */
export function scanDomains(lines: ScanLines, options: ScanOptions): AsyncGenerator<ScanRecord, void, undefined> {
  return flatten(scanDomainBatches(lines, options));
}

/** `scanDomains` a batch at a time (see `scanLineBatches`): what a consumer of many records a second wants. */
export function scanDomainBatches(
  lines: ScanLines,
  options: ScanOptions,
): AsyncGenerator<ScanRecord[], void, undefined> {
  const lane =
    options.lane ?? createRouteLane({ resolver: options.resolver, ...(options.rng ? { rng: options.rng } : {}) });
  return scanLineBatches(lines, options, {
    run: (domain) => lane.route(domain),
    runThen: (domain, done, fail) => lane.routeThen(domain, done, fail),
    failed: (source, error, elapsedMs) => errorRecord(source, error, elapsedMs),
  });
}

/**
 * The scan driver: runs `work` for each domain line with a bounded window and yields `R` records (the work's
 * result plus `input`, `line` and `error: null`) in completion order; invalid lines yield `work.failed`.
 * `scanDomains` and `scanChecks` are this with the route and the audit.
 */
export function scanLines<R>(
  lines: ScanLines,
  options: ScanDriverOptions,
  work: ScanWork<R>,
): AsyncGenerator<R, void, undefined> {
  return flatten(scanLineBatches(lines, options, work));
}

/** Record by record. (Not the async generator itself: the batches, made by the caller, have taken the input.) */
async function* flatten<R>(batches: AsyncGenerator<R[], void, undefined>): AsyncGenerator<R, void, undefined> {
  for await (const batch of batches) yield* batch;
}

/**
 * `scanLines` a batch at a time: each batch holds the records finished since the last one (at most
 * `concurrency`), so a consumer of tens of thousands of records a second pays one round of promises per batch,
 * not per record. The input's iterator is taken at once.
 */
export function scanLineBatches<R>(
  lines: ScanLines,
  options: ScanDriverOptions,
  work: ScanWork<R>,
): AsyncGenerator<R[], void, undefined> {
  // Made now, not when the first batch is asked for: the reader takes the input's iterator at once.
  return drive(createScanReader(lines, options), options, work);
}

async function* drive<R>(
  reader: ScanReader,
  options: ScanDriverOptions,
  work: ScanWork<R>,
): AsyncGenerator<R[], void, undefined> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const bucket =
    options.ratePerSecond === undefined
      ? null
      : createTokenBucket({ ratePerSecond: options.ratePerSecond, ...options.rateLimit });
  const signal = options.signal;
  // A function, not a narrowed property read: the signal may abort during any await.
  const stopped = (): boolean => signal?.aborted === true;
  // Finished records queue up here until they are handed out; the window counts them with the work in flight,
  // so at most `concurrency` records are ever held. The loop waits on one promise at a time. (Promise.race over
  // every route in flight would attach a handler to each of them per completion: quadratic work, and memory held
  // until they settle.)
  let inflight = 0;
  let finished: R[] = [];
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  // A failure set by a callback (a bug below the work, a broken input) ends the scan at the next turn of its loop.
  const rethrow = (): void => {
    if (failure) throw failure.error;
  };

  const start = (input: ScanInput & { domain: string }): void => {
    const begun = performance.now();
    inflight++;
    // The result is the work's own fresh object: completed in place rather than copied (a scan makes millions),
    // field by field (no object made to copy them from).
    const done = (result: Omit<R, 'input' | 'line' | 'error'>): void => {
      const record = result as Omit<R, 'input' | 'line' | 'error'> &
        Pick<ScanInput, 'input' | 'line'> & { error: null };
      record.input = input.input;
      record.line = input.line;
      record.error = null;
      finished.push(record as R);
      inflight--;
      wake?.();
    };
    const fail = (err: unknown): void => {
      inflight--;
      if (isMxError(err)) finished.push(work.failed(input, err.message, Math.round(performance.now() - begun)));
      else failure ??= { error: err };
      wake?.();
    };
    // The stop signal is not passed down: a graceful stop lets the work in flight finish.
    if (work.runThen) work.runThen(input.domain, done, fail);
    else work.run(input.domain).then(done, fail);
  };

  // The input is read while records are handed out: a read that has to wait (the next chunk of a queue worker, a
  // slow pipe) does not hold back the records of the domains in flight, and a domain that is slow to finish does
  // not hold back the input. At most one read is pending, and its line is taken before any other.
  let reading = false;
  let read: ScanRead | null = null;
  const readNext = (): void => {
    reading = true;
    reader.next().then(
      (result) => {
        reading = false;
        read = result;
        wake?.();
      },
      (err: unknown) => {
        reading = false;
        failure ??= { error: err };
        wake?.();
      },
    );
  };

  let exhausted = false;
  try {
    for (;;) {
      rethrow();
      while (!exhausted && !stopped() && inflight + finished.length < concurrency) {
        // Set by a callback: read through a cast, as TypeScript takes it for still null here.
        let next = read as ScanRead | null;
        read = null;
        next ??= reading ? null : reader.take();
        if (next === null) {
          if (!reading) readNext();
          break;
        }
        if (next.kind === 'stopped') break;
        if (next.kind === 'end') {
          exhausted = true;
          break;
        }
        const parsed = next.input;
        if (parsed.domain === null) {
          finished.push(work.failed(parsed, parsed.error, 0));
          continue;
        }
        if (bucket) {
          try {
            await bucket.take(signal);
          } catch (err) {
            if (stopped()) break; // stopped while waiting: this line is left for --resume
            throw err;
          }
        }
        start(parsed);
      }
      rethrow();
      if (finished.length > 0) {
        const batch = finished;
        finished = [];
        yield batch;
        continue;
      }
      if (inflight === 0 && (exhausted || stopped())) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    await reader.close();
  }
}
