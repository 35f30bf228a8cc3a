/**
 * @module scan/queue/pool
 * The domains a worker process resolves (or audits): every chunk it holds feeds one scan window, so the process
 * keeps `concurrency` domains in flight across chunk boundaries (the slow tail of one chunk overlaps the start
 * of the next) and one resolver cache serves all of them. Records keep the global input line numbers of their
 * chunk. No Redis here: chunks come in as arrays, records go out through a callback.
 */
import type { Rng } from '../../core/random.js';
import type { Resolver } from '../../dns/resolver.js';
import type { ScanCheckOptions, ScanCheckRecord } from '../check.js';
import { checkErrorRecord, scanChecks } from '../check.js';
import type { ScanRecord } from '../record.js';
import { errorRecord } from '../record.js';
import { carriesNoDomain } from '../input.js';
import { createRouteLane } from '../lane.js';
import { scanDomains } from '../scan.js';
import type { LineBatches } from '../lines.js';
import type { ChunkItem } from './protocol.js';

export interface DomainPoolOptions {
  resolver: Resolver;
  /** Routes in flight at most, over all chunks. Default 32. */
  concurrency?: number;
  rng?: Rng;
}

export interface ChunkRun<R = ScanRecord> {
  /** Called with each record as it completes (line numbers are the chunk's). */
  onRecord: (record: R) => void;
  /** Drops the chunk's domains not yet started; the run then resolves 'cancelled' once those in flight end. */
  signal?: AbortSignal;
  /**
   * Stops starting the chunk's domains, but delivers the records of those in flight (a graceful stop of the
   * scan); the run then resolves 'cancelled', or 'done' if every domain had started.
   */
  drain?: AbortSignal;
}

export interface DomainPool<R = ScanRecord> {
  /** Resolves the chunk's domains; settles once each has its record ('done') or the run was cancelled. */
  run(items: readonly ChunkItem[], run: ChunkRun<R>): Promise<'done' | 'cancelled'>;
}

/** What a pool does with the domains of a pass, and the record of a line it produced none for. */
interface PoolWork<R> {
  /**
   * Scans the domains of `feed`, numbering them from 1 in the order they come, and asking `skip` of each when its
   * turn to start comes (true: it is passed over).
   */
  scan(feed: LineBatches, concurrency: number, skip: (line: number) => boolean): AsyncIterable<R>;
  failed(item: ChunkItem, error: string): R;
}

interface Task<R> {
  run: ChunkRun<R>;
  owed: number;
  /** Domains handed to the scan, and records delivered: a draining task ends when they are equal. */
  started: number;
  delivered: number;
  draining: boolean;
  settled: boolean;
  settle: (result: 'done' | 'cancelled') => void;
  fail: (err: unknown) => void;
}

interface Entry<R> {
  item: ChunkItem;
  task: Task<R>;
}

/**
 * Creates a pool of routes. Chunks run concurrently; their domains share the window in arrival order.
 * @example
 * const pool = createDomainPool({ resolver, concurrency: 64 });
 * await pool.run(job.items, { onRecord: (r) => batch.push(r) });
 */
export function createDomainPool(options: DomainPoolOptions): DomainPool {
  // One lane for the life of the process: the exchanges' facts outlast each pass.
  const lane = createRouteLane({ resolver: options.resolver, ...(options.rng ? { rng: options.rng } : {}) });
  return createPool(options.concurrency, {
    scan: (feed, concurrency, skip) => scanDomains(feed, { resolver: options.resolver, concurrency, lane, skip }),
    failed: (item, error) => errorRecord(item, error),
  });
}

/**
 * Creates a pool of audits (`mxray scan --what check`), with its own, smaller window for SMTP.
 * @example
 * const pool = createCheckPool({ concurrency: 16, check: { resolver, smtp: { enabled: false } } });
 */
export function createCheckPool(
  options: Pick<ScanCheckOptions, 'check' | 'smtpConcurrency'> & { concurrency?: number },
): DomainPool<ScanCheckRecord> {
  const check = { check: options.check, smtpConcurrency: options.smtpConcurrency ?? 8 };
  return createPool(options.concurrency, {
    // One SMTP limiter per pass: passes follow one another, so the limit holds.
    scan: (feed, concurrency, skip) => scanChecks(feed, { ...check, concurrency, skip }),
    failed: (item, error) => checkErrorRecord(item, error),
  });
}

function createPool<R extends { line: number; input: string }>(
  concurrencyOption: number | undefined,
  work: PoolWork<R>,
): DomainPool<R> {
  const concurrency = Math.max(1, Math.floor(concurrencyOption ?? 32));
  const waiting: Entry<R>[] = [];
  let driving = false;

  const deliver = (entry: Entry<R>, record: R): void => {
    const task = entry.task;
    if (task.settled) return;
    try {
      task.run.onRecord(record);
    } catch (err) {
      // The chunk's own consumer failed: that chunk fails, and the pass goes on for the others.
      task.settled = true;
      task.fail(err);
      return;
    }
    task.delivered++;
    if (--task.owed === 0) {
      task.settled = true;
      task.settle('done');
    } else drained(task);
  };

  /** Ends a draining task once every domain it started has its record. */
  const drained = (task: Task<R>): void => {
    if (task.settled || !task.draining || task.delivered < task.started) return;
    task.settled = true;
    task.settle('cancelled');
  };

  /** Wakes the feed of the pass under way when it waits for domains (more came); null between passes. */
  let wakeFeed: (() => void) | null = null;

  // One pass of the scan over the waiting domains: it takes each chunk as it comes, while the domains of the
  // chunks before are still in flight, so the window stays full across chunk boundaries (the slow tail of one
  // chunk overlaps the start of the next). It ends once nothing is waiting and nothing is in flight; the next
  // chunk to arrive starts a new one.
  async function drive(): Promise<void> {
    driving = true;
    try {
      while (waiting.length > 0) {
        // The domains handed to this pass by its line number, until their records come (or they are passed over).
        const fed = new Map<number, Entry<R>>();
        let lines = 0;
        // This pass's own waker and end: a pass that failed leaves its feed behind, which must never take the
        // domains of a later pass.
        let closed = false;
        let waiter: (() => void) | null = null;
        const wake = (): void => {
          const w = waiter;
          waiter = null;
          w?.();
        };
        const wakeIfIdle = (): void => {
          if (fed.size === 0) wake();
        };
        const close = (): void => {
          closed = true;
          wake();
        };
        async function* batches(): AsyncGenerator<string[]> {
          for (;;) {
            if (closed) return;
            if (waiting.length > 0) {
              const batch = waiting.splice(0, waiting.length);
              for (const entry of batch) fed.set(++lines, entry);
              yield batch.map((entry) => entry.item.domain);
              continue;
            }
            if (fed.size === 0) return;
            await new Promise<void>((resolve) => (waiter = resolve));
          }
        }
        const feed: LineBatches = { batches: batches(), close };
        wakeFeed = wake;
        // Asked as each domain's turn to start comes: a cancelled or draining chunk's domains are dropped there.
        const skip = (line: number): boolean => {
          const entry = fed.get(line);
          if (!entry) return true;
          if (entry.task.settled || entry.task.draining) {
            fed.delete(line);
            wakeIfIdle();
            return true;
          }
          entry.task.started++;
          return false;
        };
        try {
          for await (const record of work.scan(feed, concurrency, skip)) {
            const entry = fed.get(record.line);
            if (!entry) continue;
            fed.delete(record.line);
            deliver(entry, { ...record, line: entry.item.line, input: entry.item.input });
            wakeIfIdle();
          }
        } catch (err) {
          // A bug below (resolveRoute threw something other than an MxError): fail every chunk of this pass.
          close();
          for (const entry of fed.values()) {
            if (entry.task.settled) continue;
            entry.task.settled = true;
            entry.task.fail(err);
          }
          continue;
        } finally {
          wakeFeed = null;
        }
        // Every domain fed yields a record (`run` lets in no line that carries no domain); should one not, its
        // chunk still completes, with the line marked as not scanned.
        for (const entry of fed.values()) {
          deliver(entry, work.failed(entry.item, 'the worker produced no record for this line'));
        }
      }
    } finally {
      driving = false;
    }
  }

  return {
    run(items, run) {
      return new Promise((resolve, reject) => {
        if (run.signal?.aborted) {
          resolve('cancelled');
          return;
        }
        if (items.length === 0) {
          resolve('done');
          return;
        }
        const onAbort = (): void => {
          if (task.settled) return;
          task.settled = true;
          task.settle('cancelled');
        };
        const onDrain = (): void => {
          task.draining = true;
          drained(task);
        };
        const detach = (): void => {
          run.signal?.removeEventListener('abort', onAbort);
          run.drain?.removeEventListener('abort', onDrain);
        };
        const task: Task<R> = {
          run,
          owed: items.length,
          started: 0,
          delivered: 0,
          draining: false,
          settled: false,
          settle: (result) => {
            detach();
            resolve(result);
          },
          fail: (err) => {
            detach();
            reject(err);
          },
        };
        // Domains not yet started are dropped as the feed reaches them; those in flight end on their own, and
        // their records are no longer delivered.
        run.signal?.addEventListener('abort', onAbort, { once: true });
        if (run.drain?.aborted) {
          onDrain();
          return;
        }
        run.drain?.addEventListener('abort', onDrain, { once: true });
        for (const item of items) {
          if (task.settled) break; // its consumer failed on a line below
          // A line the scan would skip without a record (blank, a comment) would leave its chunk owed forever.
          if (!carriesNoDomain(item.domain)) waiting.push({ item, task });
          else {
            task.started++; // counted with the domains started, so a drain still waits for every one in flight
            deliver({ item, task }, work.failed(item, 'not a domain name'));
          }
        }
        if (task.settled) return;
        if (driving) wakeFeed?.();
        else void drive();
      });
    },
  };
}
