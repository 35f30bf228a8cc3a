/**
 * @module scan/queue/worker
 * A queue worker of distributed scans (`mxray worker`): it watches the registry of running scans, takes chunks
 * from each scan's BullMQ queue, resolves their routes (RFC 5321 §5.1, via `scanDomains`) in one shared window,
 * or audits their domains (`mxray scan --what check`, via `scanChecks`) in another, and pushes the records to
 * the scan's results list as they complete. A worker that dies mid-chunk loses
 * nothing: its lock on the job expires and BullMQ's stalled-job check of any other worker puts the chunk back
 * in the queue; the coordinator drops the lines it already has.
 */
import type { Job } from 'bullmq';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Rng } from '../../core/random.js';
import type { Resolver } from '../../dns/resolver.js';
import { abortableSleep } from '../../core/signal.js';
import { normalizeName } from '../../dns/name.js';
import type { PhaseTimeouts } from '../../smtp/timeouts.js';
import { createCheckPool, createDomainPool } from './pool.js';
import type { DomainPool } from './pool.js';
import type { QueueRecord, ScanTask } from './protocol.js';
import { parseChunkJob, PROTOCOL_VERSION, QUEUE_PREFIX, scanQueueName } from './protocol.js';
import type { RedisTarget } from './redis.js';
import { connectRedis, describeRedisError, redisOptions } from './redis.js';
import { liveScans, pushResults, stoppingScans } from './registry.js';

export interface ScanWorkerOptions {
  redis: RedisTarget;
  resolver: Resolver;
  /** Domains in flight at most, over every chunk held (routes and audits each). Default 32. */
  concurrency?: number;
  /** How this worker audits the domains of `mxray scan --what check` (its network, like the resolver). */
  check?: WorkerCheckOptions;
  /** Chunks held at once per scan: one more than needed keeps the window full between chunks. Default 2. */
  chunksPerScan?: number;
  /**
   * How long a chunk's lock lasts without renewal, and how often this worker looks for chunks whose worker
   * died (BullMQ `lockDuration` and `stalledInterval`). Default 30 000 ms.
   */
  lockMs?: number;
  /** How often the registry of running scans is read. Default 1000 ms. */
  pollMs?: number;
  /** Records pushed per batch at most, and the longest a finished record waits to be pushed. */
  batchRecords?: number;
  batchMs?: number;
  rng?: Rng;
  /** Graceful stop: no new chunk is taken; the ones held are finished and pushed. */
  signal?: AbortSignal;
  /** What the worker does, for logs. */
  onEvent?: (event: WorkerEvent) => void;
}

/** The SMTP side of a worker's audits; whether to connect at all is the scan's choice (`--no-smtp`). */
export interface WorkerCheckOptions {
  /** SMTP port of the mail servers. Default 25. */
  port?: number;
  /** The name sent with EHLO (an A-label name). Default: this host's name. */
  helo?: string;
  timeouts?: PhaseTimeouts;
  /** Port of the authoritative servers asked directly (the lab's). Default 53. */
  authoritativePort?: number;
  /** Domains talking SMTP at once at most. Default 8. */
  smtpConcurrency?: number;
}

/** What a worker reports as it goes. */
export type WorkerEvent =
  | { kind: 'ready'; redis: string; name: string }
  | { kind: 'serving'; scan: string }
  | { kind: 'scan-ended'; scan: string }
  | { kind: 'took'; scan: string; chunk: number; first: number; last: number; domains: number; attempt: number }
  | { kind: 'finished'; scan: string; chunk: number; domains: number; elapsedMs: number }
  | { kind: 'dropped'; scan: string; chunk: number; reason: string }
  | { kind: 'chunk-failed'; scan: string; chunk: number | null; error: string }
  | { kind: 'redis-error'; error: string };

/** How a worker ended. */
export type WorkerOutcome = { kind: 'stopped' } | { kind: 'lost'; reason: string };

/** The same Redis error is reported at most once in this time. */
const REPEAT_MS = 10_000;

/** Chunk stalls a job survives before BullMQ fails it (each one is a worker that died holding it). */
export const MAX_STALLED = 2;

interface Served {
  worker: Worker;
  /** Aborted when the scan ends: its chunks still running are dropped. */
  ended: AbortController;
  /** Aborted when the scan's coordinator was stopped: no more of its domains are started. */
  stopping: AbortController;
}

/** Pushes a chunk's records in batches, one push at a time, in order. */
function createBatcher(
  push: (records: QueueRecord[]) => Promise<boolean>,
  options: { maxRecords: number; maxMs: number; onGone: () => void },
) {
  let batch: QueueRecord[] = [];
  let chain: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | null = null;
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    chain = chain.then(async () => {
      if (failure) return;
      try {
        if (!(await push(records))) options.onGone();
      } catch (error) {
        failure = { error };
      }
    });
  };
  return {
    add(record: QueueRecord): void {
      batch.push(record);
      if (batch.length >= options.maxRecords) flush();
      else timer ??= setTimeout(flush, options.maxMs);
    },
    /** Pushes what is left and waits for every push; throws the first push failure. */
    async close(): Promise<void> {
      flush();
      await chain;
      if (failure) throw failure.error;
    },
  };
}

/**
 * Serves every running scan on the Redis at `options.redis` until `options.signal` aborts (then finishes the
 * chunks it holds) or Redis is lost for good. Throws MxError MX_INVALID_ARGUMENT when Redis cannot be reached
 * at the start.
 * @example
 * const outcome = await runScanWorker({ redis: parseRedisUrl('redis://127.0.0.1:6379'), resolver, signal });
 */
export async function runScanWorker(options: ScanWorkerOptions): Promise<WorkerOutcome> {
  const emit = options.onEvent ?? (() => undefined);
  const name = `mxray-worker@${hostname()}:${process.pid}`;
  const lockMs = Math.max(1000, Math.round(options.lockMs ?? 30_000));
  const pollMs = Math.max(50, Math.round(options.pollMs ?? 1000));
  const batchRecords = Math.max(1, options.batchRecords ?? 100);
  const batchMs = Math.max(1, options.batchMs ?? 250);
  const control: Redis = await connectRedis(options.redis, {
    name: 'mxray-worker',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  control.on('error', () => undefined); // failures surface on the commands; ioredis would print them otherwise
  const concurrency = options.concurrency ?? 32;
  const routes: DomainPool = createDomainPool({
    resolver: options.resolver,
    concurrency,
    ...(options.rng ? { rng: options.rng } : {}),
  });
  // The audits' pools, made on the first chunk of each kind: with SMTP, and without (`--no-smtp`).
  const audits = new Map<boolean, DomainPool<QueueRecord>>();
  const poolFor = (task: ScanTask): DomainPool<QueueRecord> => {
    if (task.what === 'route') return routes;
    let pool = audits.get(task.smtp);
    if (!pool) {
      const check = options.check ?? {};
      pool = createCheckPool({
        concurrency,
        ...(check.smtpConcurrency !== undefined ? { smtpConcurrency: check.smtpConcurrency } : {}),
        check: {
          resolver: options.resolver,
          smtp: {
            enabled: task.smtp,
            port: check.port ?? 25,
            // This host's name, worked out on the first audit: a worker that only resolves routes never needs it
            // (and an invalid one fails the audit's chunks with its reason, not the worker's start).
            helo: check.helo ?? normalizeName(hostname()),
            ...(check.timeouts ? { timeouts: check.timeouts } : {}),
          },
          authoritativePort: check.authoritativePort ?? 53,
        },
      });
      audits.set(task.smtp, pool);
    }
    return pool;
  };
  const served = new Map<string, Served>();
  emit({ kind: 'ready', redis: options.redis.display, name });
  // While Redis is down every connection fails on every retry: one line per distinct error per 10 s is enough.
  const reported = new Map<string, number>();
  const reportRedisError = (err: unknown): void => {
    const error = describeRedisError(err);
    const now = Date.now();
    if (now - (reported.get(error) ?? 0) < REPEAT_MS) return;
    reported.set(error, now);
    emit({ kind: 'redis-error', error });
  };

  const processChunk = async (
    scan: string,
    s: Pick<Served, 'ended' | 'stopping'>,
    job: Job,
    jobSignal?: AbortSignal,
  ) => {
    const ended = s.ended.signal;
    const parsed = parseChunkJob(job.data);
    if (parsed.kind === 'invalid') throw new UnrecoverableError(parsed.reason);
    const { chunk, items, task } = parsed.job;
    if (parsed.job.scan !== scan) throw new UnrecoverableError(`chunk ${chunk} belongs to scan ${parsed.job.scan}`);
    const first = items[0]?.line ?? 0;
    const last = items.at(-1)?.line ?? 0;
    emit({ kind: 'took', scan, chunk, first, last, domains: items.length, attempt: job.attemptsStarted });
    const begun = performance.now();
    const stop = new AbortController();
    const signals = [ended, stop.signal, ...(jobSignal ? [jobSignal] : [])];
    const cancel = AbortSignal.any(signals);
    const batcher = createBatcher((records) => pushResults(control, scan, { v: PROTOCOL_VERSION, chunk, records }), {
      maxRecords: batchRecords,
      maxMs: batchMs,
      onGone: () => stop.abort(),
    });
    const outcome = await poolFor(task).run(items, {
      onRecord: (r) => batcher.add(r),
      signal: cancel,
      drain: s.stopping.signal,
    });
    await batcher.close();
    if (outcome === 'cancelled') {
      const reason =
        ended.aborted || stop.signal.aborted
          ? 'the scan ended'
          : s.stopping.signal.aborted
            ? 'the scan was stopped; the domains in flight were handed in'
            : 'the job was cancelled';
      emit({ kind: 'dropped', scan, chunk, reason });
      return { records: 0, dropped: true };
    }
    emit({ kind: 'finished', scan, chunk, domains: items.length, elapsedMs: Math.round(performance.now() - begun) });
    return { records: items.length, dropped: false };
  };

  const serve = (scan: string): void => {
    const ended = new AbortController();
    const stopping = new AbortController();
    const worker = new Worker(
      scanQueueName(scan),
      (job, _token, signal) => processChunk(scan, { ended, stopping }, job, signal),
      {
        connection: redisOptions(options.redis, { name: `mxray-worker:${scan}`, blocking: true }),
        prefix: QUEUE_PREFIX,
        name,
        concurrency: Math.max(1, options.chunksPerScan ?? 2),
        lockDuration: lockMs,
        stalledInterval: lockMs,
        maxStalledCount: MAX_STALLED,
        drainDelay: 1,
      },
    );
    worker.on('failed', (job, err) => {
      if (ended.signal.aborted) return;
      const chunk = typeof job?.data === 'object' ? (job.data as { chunk?: unknown }).chunk : null;
      emit({ kind: 'chunk-failed', scan, chunk: typeof chunk === 'number' ? chunk : null, error: err.message });
    });
    worker.on('error', (err) => {
      // After the scan ended its queue is deleted under any job still finishing: expected, not worth a line.
      if (!ended.signal.aborted) reportRedisError(err);
    });
    served.set(scan, { worker, ended, stopping });
    emit({ kind: 'serving', scan });
  };

  const retire = async (scan: string): Promise<void> => {
    const s = served.get(scan);
    if (!s) return;
    served.delete(scan);
    s.ended.abort();
    await s.worker.close();
    emit({ kind: 'scan-ended', scan });
  };

  let outcome: WorkerOutcome = { kind: 'stopped' };
  try {
    while (!options.signal?.aborted) {
      let live: string[];
      try {
        live = await liveScans(control);
      } catch (err) {
        if (control.status === 'end') {
          outcome = {
            kind: 'lost',
            reason: `lost the connection to Redis at ${options.redis.display}: ${describeRedisError(err)}`,
          };
          break;
        }
        reportRedisError(err);
        live = [...served.keys()];
      }
      for (const scan of live) if (!served.has(scan)) serve(scan);
      try {
        const stopped = await stoppingScans(control, [...served.keys()]);
        for (const scan of stopped) served.get(scan)?.stopping.abort();
      } catch (err) {
        reportRedisError(err);
      }
      const gone = [...served.keys()].filter((scan) => !live.includes(scan));
      await Promise.all(gone.map(retire));
      try {
        await abortableSleep(pollMs, options.signal);
      } catch {
        break; // stopped
      }
    }
  } finally {
    // Graceful: each BullMQ worker stops taking jobs and waits for the chunks it holds to be finished and pushed.
    await Promise.all(
      [...served.values()].map(async (s) => {
        if (outcome.kind === 'lost') s.ended.abort();
        await s.worker.close(outcome.kind === 'lost');
      }),
    );
    served.clear();
    if (control.status === 'ready') await control.quit().catch(() => undefined);
    else control.disconnect();
  }
  return outcome;
}
