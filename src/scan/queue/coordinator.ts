/**
 * @module scan/queue/coordinator
 * The coordinator of a distributed scan (`mxray scan --queue`): it reads the input as a stream, cuts the
 * domains into chunks queued as BullMQ jobs on a queue of its own, and yields the workers' records as they
 * arrive, each input line exactly once (a chunk retried after a worker died can deliver a line twice; the
 * first copy wins). At most `maxPendingChunks` chunks are queued or running at a time, so memory and Redis
 * stay bounded however long the input is. Invalid lines never leave the coordinator: their records are
 * yielded at once, as in a local scan.
 */
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { InputParserOptions } from '../input.js';
import { checkErrorRecord } from '../check-record.js';
import { errorRecord } from '../record.js';
import type { ScanLines } from '../reader.js';
import { createScanReader } from '../reader.js';
import type { Chunk, PendingChunk } from './chunks.js';
import { ChunkTracker, createChunker } from './chunks.js';
import type { ChunkJob, QueueRecord, ResultBatch, ScanTask } from './protocol.js';
import {
  chunkJobId,
  HEARTBEAT_MS,
  isScanId,
  jobLockKey,
  parseResultBatch,
  PROTOCOL_VERSION,
  QUEUE_PREFIX,
  resultsKey,
  scanQueueName,
} from './protocol.js';
import type { RedisTarget } from './redis.js';
import { connectRedis, describeRedisError } from './redis.js';
import { abandonedScans, heartbeatScan, markStopping, unregisterScan } from './registry.js';

export interface QueueScanOptions extends InputParserOptions {
  redis: RedisTarget;
  /** What the workers do with each domain. Default: its route. */
  task?: ScanTask;
  /** Domains per chunk (one BullMQ job). Default 500. */
  chunkSize?: number;
  /** Chunks queued or running at most; reading the input waits for one to finish. Default 32. */
  maxPendingChunks?: number;
  /** Attempts of a chunk whose processing throws on a worker (BullMQ `attempts`). Default 3. */
  attempts?: number;
  /** Input lines (1-based) to skip, e.g. those an interrupted scan already wrote (`--resume`). */
  skip?: (line: number) => boolean;
  /**
   * Stops the scan gracefully: no more input is read and the queued chunks no worker has taken are withdrawn;
   * the workers start no more domains of the chunks they hold, and the records of those in flight are waited
   * for (while their worker lives) and yielded.
   */
  signal?: AbortSignal;
  /** What the coordinator does, for logs. */
  onEvent?: (event: CoordinatorEvent) => void;
}

export type CoordinatorEvent =
  | { kind: 'queue'; scan: string; queue: string }
  | { kind: 'no-workers'; waitedMs: number }
  | { kind: 'chunk-failed'; chunk: FailedChunk }
  | { kind: 'cleaned'; scan: string };

/** A chunk BullMQ gave up on (its processing failed on every attempt, or its workers kept dying). */
export interface FailedChunk extends PendingChunk {
  reason: string;
}

/** What the scan could not do; read it once the records have ended. */
export interface QueueScanResult {
  scan: string;
  /** Chunks queued. */
  chunks: number;
  /** Records dropped because their line had already been written (chunks retried after a worker died). */
  duplicates: number;
  /** Chunks given up on; their lines are not in the output. */
  failed: FailedChunk[];
  /** Chunks withdrawn or left unfinished by a stop; their lines are not in the output. */
  abandoned: PendingChunk[];
  /** Why the scan ended early when Redis was lost, else null. */
  lost: string | null;
}

export interface QueueScan {
  /** The scan id (its queue is `scan-<id>`). */
  scan: string;
  /** The records (routes, or audits with `task: { what: 'check' }`), every line once, in arrival order. Iterate once. */
  records: AsyncGenerator<QueueRecord, void, undefined>;
  /** The outcome, complete once `records` has ended. */
  result(): QueueScanResult;
}

/** How long one wait for results blocks, in seconds (Redis ≥ 6 takes fractions). */
const BLOCK_S = 0.5;
/** Records popped per LPOP after a wake-up. */
const POP_COUNT = 200;
/** How often failed chunks, a stop and missing workers are checked. */
const CHECK_MS = 1_000;
/** Time without any worker on the queue before the coordinator says so (and again each time after). */
const NO_WORKER_MS = 10_000;

/** True for failures of the Redis connection or its commands (as opposed to bugs). */
function isRedisFailure(err: unknown, clients: Redis[]): boolean {
  if (clients.some((c) => c.status === 'end')) return true;
  const e = err as { name?: unknown; message?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    ['ReplyError', 'MaxRetriesPerRequestError', 'AbortError'].includes(name) ||
    /Connection is closed|Command timed out|Stream isn't writeable/.test(message)
  );
}

/** Removes the queues and results of scans whose coordinator has been gone for an hour or more. */
async function cleanAbandoned(client: Redis, emit: (e: CoordinatorEvent) => void): Promise<void> {
  for (const id of await abandonedScans(client)) {
    if (!isScanId(id)) {
      await unregisterScan(client, id); // not written by mxray: nothing of ours to remove with it
      continue;
    }
    const queue = new Queue(scanQueueName(id), { connection: client, prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined);
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
    await client.del(resultsKey(id));
    await unregisterScan(client, id);
    emit({ kind: 'cleaned', scan: id });
  }
}

/**
 * Starts a distributed scan: connects (throwing MxError MX_INVALID_ARGUMENT when Redis cannot be reached or
 * used), registers the scan for workers and returns its records as they come. The queue and the results list
 * are removed when the records end (or the iteration is left early).
 * @example
 * const run = await startQueueScan(lines, { redis: parseRedisUrl('redis://127.0.0.1:6379'), chunkSize: 500 });
 * for await (const record of run.records) out.write(JSON.stringify(record) + '\n');
 * run.result().failed // chunks whose lines are missing
 */
export async function startQueueScan(lines: ScanLines, options: QueueScanOptions): Promise<QueueScan> {
  const emit = options.onEvent ?? (() => undefined);
  // Before the first await: a readline interface drops the lines it emits before its iterator exists.
  const reader = createScanReader(lines, options);
  const chunkSize = options.chunkSize ?? 500;
  const task: ScanTask = options.task ?? { what: 'route' };
  const maxPending = Math.max(1, Math.floor(options.maxPendingChunks ?? 32));
  const attempts = Math.max(1, Math.floor(options.attempts ?? 3));
  const chunker = createChunker(chunkSize);
  const signal = options.signal;
  const connect = (name: string) =>
    connectRedis(options.redis, { name, blocking: name.endsWith('results'), ...(signal ? { signal } : {}) });

  let client: Redis;
  let blocker: Redis;
  try {
    client = await connect('mxray-scan');
    try {
      blocker = await connect('mxray-scan-results');
    } catch (err) {
      client.disconnect();
      throw err;
    }
  } catch (err) {
    await reader.close();
    throw err;
  }
  const clients = [client, blocker];
  for (const c of clients) c.on('error', () => undefined); // failures surface on the commands
  await cleanAbandoned(client, emit).catch(() => undefined); // best effort: another coordinator may be at it

  const scan = randomBytes(8).toString('hex');
  const queueName = scanQueueName(scan);
  const queue = new Queue<ChunkJob>(queueName, {
    connection: client,
    prefix: QUEUE_PREFIX,
    // The records travel in the results list, not in BullMQ's event stream: keep that stream short.
    streams: { events: { maxLen: 100 } },
  });
  queue.on('error', () => undefined);
  await heartbeatScan(client, scan);
  emit({ kind: 'queue', scan, queue: queueName });
  const heartbeat = setInterval(() => {
    // Not queued while disconnected (a lost Redis is noticed by the main loop): a queued command would hold the
    // process for its whole timeout after the scan has ended.
    if (client.status === 'ready') heartbeatScan(client, scan).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const tracker = new ChunkTracker();
  const result: QueueScanResult = { scan, chunks: 0, duplicates: 0, failed: [], abandoned: [], lost: null };

  const enqueue = async (chunk: Chunk): Promise<void> => {
    tracker.add(chunk);
    result.chunks++;
    await queue.add(
      'chunk',
      { v: PROTOCOL_VERSION, scan, chunk: chunk.chunk, task, items: chunk.items },
      {
        jobId: chunkJobId(chunk.chunk),
        attempts,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: false,
      },
    );
  };

  /** Results waiting in Redis: blocks up to BLOCK_S for the first when `wait`, then takes what is there. */
  const popBatches = async (wait: boolean): Promise<ResultBatch[]> => {
    const texts: string[] = [];
    if (wait) {
      const first = await blocker.blpop(resultsKey(scan), BLOCK_S);
      if (!first) return [];
      texts.push(first[1]);
    }
    const more = await client.lpop(resultsKey(scan), POP_COUNT);
    if (more) texts.push(...more);
    return texts.map((text) => parseResultBatch(text, task)).filter((b): b is ResultBatch => b !== null);
  };

  /** The chunks BullMQ failed for good: dropped from the tracker and reported. */
  const collectFailures = async (): Promise<void> => {
    const { failed } = await queue.getJobCounts('failed');
    if (!failed) return;
    for (const job of await queue.getFailed(0, 99)) {
      const chunk = (job.data as Partial<ChunkJob> | undefined)?.chunk;
      const dropped = typeof chunk === 'number' ? tracker.drop(chunk) : undefined;
      if (dropped) {
        const failure = { ...dropped, reason: job.failedReason || 'failed' };
        result.failed.push(failure);
        emit({ kind: 'chunk-failed', chunk: failure });
      }
      await job.remove();
    }
  };

  /**
   * The chunks a live worker holds: active, with their lock (active without it: the worker holding it died, and
   * no live worker took it back). Read before the results are drained: a chunk that is not held then had pushed
   * all its records by then (a worker pushes them all before it completes the job, which removes lock and
   * active entry at once).
   */
  const heldChunks = async (): Promise<Set<string>> => {
    const held = new Set<string>();
    for (const jobId of await queue.getRanges(['active'], 0, -1)) {
      if ((await client.exists(jobLockKey(scan, jobId))) === 1) held.add(jobId);
    }
    return held;
  };

  /** After a stop: gives up the pending chunks no live worker held (see `heldChunks`). */
  const abandonIdle = (held: Set<string>): void => {
    for (const pending of tracker.list()) {
      if (held.has(chunkJobId(pending.chunk))) continue;
      const dropped = tracker.drop(pending.chunk);
      if (dropped) result.abandoned.push(dropped);
    }
  };

  async function* run(): AsyncGenerator<QueueRecord, void, undefined> {
    let exhausted = false;
    let paused = false;
    let lastCheck = 0;
    let idleSince = Date.now();
    let warnedAt = 0;
    const stopped = () => signal?.aborted === true;
    const take = function* (batches: ResultBatch[]): Generator<QueueRecord> {
      for (const batch of batches) {
        const accepted = tracker.accept(batch);
        result.duplicates += accepted.duplicates;
        yield* accepted.fresh;
      }
    };
    try {
      for (;;) {
        while (!exhausted && !stopped() && tracker.pending < maxPending) {
          const next = reader.take() ?? (await reader.next());
          if (next.kind === 'stopped') break;
          if (next.kind === 'end') {
            exhausted = true;
            const rest = chunker.flush();
            if (rest) await enqueue(rest);
            break;
          }
          const parsed = next.input;
          if (parsed.domain === null) {
            yield task.what === 'check' ? checkErrorRecord(parsed, parsed.error) : errorRecord(parsed, parsed.error);
            continue;
          }
          const full = chunker.push({ line: parsed.line, input: parsed.input, domain: parsed.domain });
          if (full) await enqueue(full);
        }
        if (tracker.pending === 0 && (exhausted || stopped())) break;
        const batches = await popBatches(true);
        if (batches.length > 0) idleSince = Date.now();
        yield* take(batches);
        const now = Date.now();
        if (now - lastCheck < CHECK_MS && !(stopped() && !paused)) continue;
        lastCheck = now;
        await collectFailures();
        if (stopped()) {
          if (!paused) {
            // Workers take no more chunks of this scan, and start no more domains of the chunks they hold (those
            // in flight are finished and handed in); what is left stays unscanned, for --resume.
            await queue.pause();
            await markStopping(client, scan);
            paused = true;
          }
          const held = await heldChunks();
          yield* take(await popBatches(false));
          abandonIdle(held);
        } else if (now - idleSince >= NO_WORKER_MS && now - warnedAt >= NO_WORKER_MS) {
          const workers = await queue.getWorkersCount().catch(() => -1);
          if (workers === 0) {
            warnedAt = now;
            emit({ kind: 'no-workers', waitedMs: now - idleSince });
          }
        }
      }
      // Records that came in while the last chunk was being checked.
      yield* take(await popBatches(false));
    } catch (err) {
      if (!isRedisFailure(err, clients)) throw err;
      result.lost = `lost the connection to Redis at ${options.redis.display}: ${describeRedisError(err)}`;
    } finally {
      clearInterval(heartbeat);
      await reader.close();
      for (const pending of tracker.list()) {
        const dropped = tracker.drop(pending.chunk);
        if (dropped && !result.failed.some((f) => f.chunk === dropped.chunk)) result.abandoned.push(dropped);
      }
      await cleanUp();
    }
  }

  async function cleanUp(): Promise<void> {
    if (result.lost === null) {
      try {
        // Unregistered first: workers drop the chunks they still hold and push nothing more.
        await unregisterScan(client, scan);
        await queue.obliterate({ force: true });
        await client.del(resultsKey(scan));
      } catch (err) {
        if (!isRedisFailure(err, clients)) throw err;
        result.lost = `lost the connection to Redis at ${options.redis.display}: ${describeRedisError(err)}`;
      }
    }
    await queue.close().catch(() => undefined);
    for (const c of clients) {
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
      else c.disconnect();
    }
  }

  return { scan, records: run(), result: () => result };
}
