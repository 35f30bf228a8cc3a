/**
 * @module scan/queue/pool
 * The domains a worker process resolves: every chunk it holds feeds one `scanDomains` window, so the process
 * keeps `concurrency` routes in flight across chunk boundaries (the slow tail of one chunk overlaps the start of
 * the next) and one resolver cache serves all of them. Records keep the global input line numbers of their
 * chunk. No Redis here: chunks come in as arrays, records go out through a callback.
 */
import type { Rng } from '../../core/random.js';
import type { Resolver } from '../../dns/resolver.js';
import type { ScanRecord } from '../record.js';
import { errorRecord } from '../record.js';
import { createRouteLane } from '../lane.js';
import { scanDomains } from '../scan.js';
import type { ChunkItem } from './protocol.js';

export interface DomainPoolOptions {
  resolver: Resolver;
  /** Routes in flight at most, over all chunks. Default 32. */
  concurrency?: number;
  rng?: Rng;
}

export interface ChunkRun {
  /** Called with each record as it completes (line numbers are the chunk's). */
  onRecord: (record: ScanRecord) => void;
  /** Drops the chunk's domains not yet started; the run then resolves 'cancelled' once those in flight end. */
  signal?: AbortSignal;
}

export interface DomainPool {
  /** Resolves the chunk's domains; settles once each has its record ('done') or the run was cancelled. */
  run(items: readonly ChunkItem[], run: ChunkRun): Promise<'done' | 'cancelled'>;
}

interface Task {
  run: ChunkRun;
  owed: number;
  settled: boolean;
  settle: (result: 'done' | 'cancelled') => void;
  fail: (err: unknown) => void;
}

interface Entry {
  item: ChunkItem;
  task: Task;
}

/**
 * Creates a pool. Chunks run concurrently; their domains share the window in arrival order.
 * @example
 * const pool = createDomainPool({ resolver, concurrency: 64 });
 * await pool.run(job.items, { onRecord: (r) => batch.push(r) });
 */
export function createDomainPool(options: DomainPoolOptions): DomainPool {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const waiting: Entry[] = [];
  let driving = false;
  // One lane for the life of the process: the exchanges' facts outlast each pass.
  const lane = createRouteLane({ resolver: options.resolver, ...(options.rng ? { rng: options.rng } : {}) });

  const deliver = (entry: Entry, record: ScanRecord): void => {
    const task = entry.task;
    if (task.settled) return;
    task.run.onRecord(record);
    if (--task.owed === 0) {
      task.settled = true;
      task.settle('done');
    }
  };

  // One `scanDomains` pass over the waiting domains; it ends when none are left, and the next chunk to arrive
  // starts a new pass. The feed is synchronous, so scanDomains never blocks on it: a pass cannot hold back
  // finished records while waiting for more input.
  async function drive(): Promise<void> {
    driving = true;
    try {
      while (waiting.length > 0) {
        const pass: Entry[] = [];
        const got: boolean[] = [];
        const feed = function* (): Generator<string> {
          while (waiting.length > 0) {
            const entry = waiting.shift()!;
            if (entry.task.settled) continue; // cancelled or failed: its remaining domains are dropped
            pass.push(entry);
            yield entry.item.domain;
          }
        };
        try {
          // scanDomains numbers the lines it pulls from 1: a record's line is its entry's index in `pass` + 1.
          for await (const record of scanDomains(feed(), {
            resolver: options.resolver,
            concurrency,
            lane,
          })) {
            const entry = pass[record.line - 1];
            if (!entry || got[record.line - 1]) continue;
            got[record.line - 1] = true;
            deliver(entry, { ...record, line: entry.item.line, input: entry.item.input });
          }
        } catch (err) {
          // A bug below (resolveRoute threw something other than an MxError): fail every chunk of this pass.
          for (const entry of pass) {
            if (entry.task.settled) continue;
            entry.task.settled = true;
            entry.task.fail(err);
          }
          continue;
        }
        // Every domain fed yields a record (a normalized name is never blank or a comment); should one not,
        // its chunk still completes, with the line marked as not scanned.
        for (const [i, entry] of pass.entries()) {
          if (got[i] !== true) deliver(entry, errorRecord(entry.item, 'the worker produced no record for this line'));
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
          resolve('cancelled');
        };
        const detach = (): void => run.signal?.removeEventListener('abort', onAbort);
        const task: Task = {
          run,
          owed: items.length,
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
        for (const item of items) waiting.push({ item, task });
        if (!driving) void drive();
      });
    },
  };
}
