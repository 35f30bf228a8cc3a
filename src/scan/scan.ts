/**
 * @module scan/scan
 * The scan driver: routes (RFC 5321 §5.1, via `resolveRoute`) for a stream of domains with a bounded window
 * of look-ups in flight and an optional rate limit. Input is pulled only while the window has room and each
 * record is yielded as it completes, so memory stays flat however long the input is. One resolver (and so one
 * cache, with in-flight de-duplication) serves the whole scan, so the A/AAAA look-ups of mail hosts shared by
 * many domains are asked once.
 */
import { performance } from 'node:perf_hooks';
import { isMxError } from '../core/errors.js';
import type { Rng } from '../core/random.js';
import type { Resolver } from '../dns/resolver.js';
import { resolveRoute } from '../mx/route.js';
import type { InputParserOptions, ScanInput } from './input.js';
import type { ScanReader } from './reader.js';
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
}

/** The per-domain work of a scan, and the record of a line that could not be done. */
export interface ScanWork<R> {
  /** The work for one domain: a fresh object, which the driver completes in place with `input`, `line`, `error`. */
  run(domain: string): Promise<Omit<R, 'input' | 'line' | 'error'>>;
  /** The record of an invalid line or of a domain whose work threw an MxError. */
  failed(source: ScanInput, error: string, elapsedMs: number): R;
}

interface Settled<R> {
  id: number;
  record: R;
}

/**
 * Scans a stream of input lines (one domain each, or CSV with `column`), yielding one record per domain line
 * in completion order; blank lines, comments and the CSV header yield nothing. Invalid names yield a record with
 * `error` set. Throws MxError MX_INVALID_ARGUMENT when the CSV header lacks the column.
 * @example
 * for await (const record of scanDomains(readLines(file), { resolver, concurrency: 64 })) {
 *   out.write(JSON.stringify(record) + '\n');
 * }
 */
export function scanDomains(
  lines: AsyncIterable<string> | Iterable<string>,
  options: ScanOptions,
): AsyncGenerator<ScanRecord, void, undefined> {
  const route: ScanWork<ScanRecord> = {
    run: (domain) =>
      resolveRoute(domain, {
        resolver: options.resolver,
        ...(options.rng ? { rng: options.rng } : {}),
      }),
    failed: (source, error, elapsedMs) => errorRecord(source, error, elapsedMs),
  };
  return scanLines(lines, options, route);
}

/**
 * The scan driver: runs `work` for each domain line with a bounded window and yields `R` records (the work's
 * result plus `input`, `line` and `error: null`) in completion order; invalid lines yield `work.failed`.
 * `scanDomains` and `scanChecks` are this with the route and the audit.
 */
export function scanLines<R>(
  lines: AsyncIterable<string> | Iterable<string>,
  options: ScanDriverOptions,
  work: ScanWork<R>,
): AsyncGenerator<R, void, undefined> {
  // Made now, not when the first record is asked for: the reader takes the input's iterator at once.
  return drive(createScanReader(lines, options), options, work);
}

async function* drive<R>(
  reader: ScanReader,
  options: ScanDriverOptions,
  work: ScanWork<R>,
): AsyncGenerator<R, void, undefined> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const bucket =
    options.ratePerSecond === undefined
      ? null
      : createTokenBucket({ ratePerSecond: options.ratePerSecond, ...options.rateLimit });
  const signal = options.signal;
  // A function, not a narrowed property read: the signal may abort during any await.
  const stopped = (): boolean => signal?.aborted === true;
  // Finished routes queue up here; the loop waits on one promise at a time. (Promise.race over every route in
  // flight would attach a handler to each of them per completion: quadratic work, and memory held until they
  // settle.)
  let inflight = 0;
  const finished: Settled<R>[] = [];
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  let nextId = 0;

  const start = (input: ScanInput & { domain: string }): void => {
    const id = nextId++;
    const begun = performance.now();
    // The stop signal is not passed down: a graceful stop lets the work in flight finish.
    const running = work.run(input.domain).then(
      // The result is the work's own fresh object: completed in place rather than copied (a scan makes millions).
      (result): Settled<R> => ({
        id,
        record: Object.assign(result, { input: input.input, line: input.line, error: null }) as R,
      }),
      (err: unknown): Settled<R> => {
        if (!isMxError(err)) throw err;
        const ms = Math.round(performance.now() - begun);
        return { id, record: work.failed(input, err.message, ms) };
      },
    );
    inflight++;
    running.then(
      (settled) => {
        finished.push(settled);
        wake?.();
      },
      (error: unknown) => {
        failure = { error };
        wake?.();
      },
    );
  };
  const nextFinished = async (): Promise<Settled<R>> => {
    while (finished.length === 0 && failure === null) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    if (failure) throw failure.error;
    inflight--;
    return finished.shift()!;
  };

  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && !stopped() && inflight < concurrency) {
        const next = await reader.next();
        if (next.kind === 'stopped') break;
        if (next.kind === 'end') {
          exhausted = true;
          break;
        }
        const parsed = next.input;
        if (parsed.domain === null) {
          yield work.failed(parsed, parsed.error, 0);
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
      if (inflight === 0) return;
      const done = await nextFinished();
      yield done.record;
    }
  } finally {
    await reader.close();
  }
}
