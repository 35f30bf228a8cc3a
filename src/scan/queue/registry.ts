/**
 * @module scan/queue/registry
 * The registry of running scans (`mxray:scans`) and the results lists, as Redis commands. Ages are measured
 * on Redis's clock (TIME), not on each machine's, so coordinator and workers agree whatever their clocks say.
 */
import type { Redis } from 'ioredis';
import type { ResultBatch } from './protocol.js';
import { ABANDONED_MS, isScanId, LIVE_MS, REGISTRY_KEY, resultsKey, STOPPING_KEY } from './protocol.js';

/** Redis's clock, in epoch milliseconds. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Adds a scan to the registry, or renews its heartbeat. */
export async function heartbeatScan(redis: Redis, id: string): Promise<void> {
  await redis.zadd(REGISTRY_KEY, await redisNow(redis), id);
}

/** Removes a scan from the registry: workers stop serving it and its results are no longer accepted. */
export async function unregisterScan(redis: Redis, id: string): Promise<void> {
  // Together: an id left in the stopping set alone would never be cleaned up.
  await redis.multi().zrem(REGISTRY_KEY, id).srem(STOPPING_KEY, id).exec();
}

/** Says that a scan was stopped: its workers start no more of its domains and hand in those in flight. */
export async function markStopping(redis: Redis, id: string): Promise<void> {
  await redis.sadd(STOPPING_KEY, id);
}

/** Which of `ids` were stopped. */
export async function stoppingScans(redis: Redis, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const flags = await redis.smismember(STOPPING_KEY, ...ids);
  return ids.filter((_, i) => flags[i] === 1);
}

/** The scans whose heartbeat is recent (workers serve these). */
export async function liveScans(redis: Redis): Promise<string[]> {
  const now = await redisNow(redis);
  return (await redis.zrangebyscore(REGISTRY_KEY, now - LIVE_MS, '+inf')).filter(isScanId);
}

/** Registered scans whose coordinator has not been heard from for `ABANDONED_MS`, and any malformed entry. */
export async function abandonedScans(redis: Redis): Promise<string[]> {
  const now = await redisNow(redis);
  return redis.zrangebyscore(REGISTRY_KEY, '-inf', now - ABANDONED_MS);
}

/**
 * Appends only while the scan is registered, atomically: a worker finishing a chunk after its scan ended must
 * not leave a results list behind that nobody will read.
 */
const PUSH_IF_REGISTERED = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return redis.call('RPUSH', KEYS[2], ARGV[2])
end
return -1`;

/**
 * Pushes a batch of records to a scan's results list; false when the scan is no longer registered (the
 * batch was dropped).
 */
export async function pushResults(redis: Redis, id: string, batch: ResultBatch): Promise<boolean> {
  const n = (await redis.eval(
    PUSH_IF_REGISTERED,
    2,
    REGISTRY_KEY,
    resultsKey(id),
    id,
    JSON.stringify(batch),
  )) as number;
  return n >= 0;
}
