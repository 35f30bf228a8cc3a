/**
 * @module scan/queue
 * Distributed scans over Redis (BullMQ): the coordinator behind `mxray scan --queue` and the worker behind
 * `mxray worker`. The protocol between them is in docs/scan-queue.md.
 */
export { startQueueScan } from './coordinator.js';
export type { CoordinatorEvent, FailedChunk, QueueScan, QueueScanOptions, QueueScanResult } from './coordinator.js';
export { runScanWorker, MAX_STALLED } from './worker.js';
export type { ScanWorkerOptions, WorkerCheckOptions, WorkerEvent, WorkerOutcome } from './worker.js';
export { createCheckPool, createDomainPool } from './pool.js';
export type { ChunkRun, DomainPool, DomainPoolOptions } from './pool.js';
export { ChunkTracker, createChunker } from './chunks.js';
export type { Accepted, Chunk, Chunker, PendingChunk } from './chunks.js';
export { connectRedis, describeRedisError, parseRedisUrl, redisOptions, REDIS_MIN_VERSION } from './redis.js';
export type { RedisSettings, RedisTarget } from './redis.js';
export {
  ABANDONED_MS,
  HEARTBEAT_MS,
  LIVE_MS,
  isQueueRecord,
  parseChunkJob,
  parseResultBatch,
  PROTOCOL_VERSION,
  QUEUE_PREFIX,
  REGISTRY_KEY,
  resultsKey,
  scanQueueName,
} from './protocol.js';
export type { ChunkItem, ChunkJob, QueueRecord, ResultBatch, ScanTask } from './protocol.js';
