/**
 * @module scan/queue/redis
 * The Redis connection of a distributed scan: the `redis://` URL checked at the boundary, a first connection
 * under a deadline that turns every failure into one clear MxError, and connection options whose reconnecting
 * is bounded. (ioredis reconnects and queues commands forever by default, so an unreachable Redis would
 * otherwise be a silent hang.)
 */
import { Redis } from 'ioredis';
import { isMxError, MxError } from '../../core/errors.js';
import { deadline, isTimeoutReason } from '../../core/signal.js';
import type { RedisTarget } from './url.js';

export type { RedisTarget } from './url.js';
export { parseRedisUrl } from './url.js';

/** Time allowed to connect and get the first answers. */
export const REDIS_CONNECT_MS = 5_000;

/** A command (other than a blocking one) that gets no reply in this time fails. */
export const REDIS_COMMAND_MS = 15_000;

/** Reconnection attempts after a lost connection before commands fail (about a minute in all). */
export const REDIS_RECONNECT_ATTEMPTS = 30;

/** The oldest Redis the queue runs on (LPOP with a count, BullMQ's scripts). */
export const REDIS_MIN_VERSION = '6.2.0';

/** The ioredis options mxray sets (accepted by ioredis and by BullMQ's `connection`). */
export interface RedisSettings {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: { servername: string };
  connectionName: string;
  connectTimeout: number;
  commandTimeout?: number;
  blockingTimeout?: number;
  maxRetriesPerRequest: null;
  retryStrategy: (times: number) => number | null;
}

/**
 * ioredis options for a target. Reconnecting is bounded (`REDIS_RECONNECT_ATTEMPTS`), after which pending and
 * new commands fail instead of waiting; `blocking` connections (BullMQ's workers, a BLPOP loop) have no command
 * timeout, since their commands wait on purpose.
 */
export function redisOptions(target: RedisTarget, role: { name: string; blocking?: boolean }): RedisSettings {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: { servername: target.host } } : {}),
    connectionName: role.name,
    connectTimeout: REDIS_CONNECT_MS,
    // A blocking command that outlives its own timeout by this much ends as if it had timed out (a hung server).
    ...(role.blocking ? { blockingTimeout: REDIS_COMMAND_MS } : { commandTimeout: REDIS_COMMAND_MS }),
    // BullMQ needs null here (its blocking commands must survive a reconnect); the bounded retryStrategy
    // below still ends the wait once Redis is gone for good.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => (times > REDIS_RECONNECT_ATTEMPTS ? null : Math.min(times * 250, 2_000)),
  };
}

/**
 * Why a Redis connection or command failed, in words.
 * @example describeRedisError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) // 'connection refused'
 */
export function describeRedisError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'its host name does not resolve';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    case 'ECONNRESET':
      return 'the connection was reset';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    default:
      break;
  }
  if (/^Command timed out/.test(message)) return `no reply within ${REDIS_COMMAND_MS / 1000} s`;
  if (/^(NOAUTH|WRONGPASS)/.test(message)) return `authentication failed: ${message}`;
  if (/Protocol error|unknown reply|Unknown RESP type|Unexpected/i.test(message))
    return `it does not speak the Redis protocol (${message})`;
  return message;
}

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * Connects to Redis and checks it can serve a queue (answers PING, version ≥ `REDIS_MIN_VERSION`). Returns a
 * connected client with bounded reconnection (close it with `quit()`). Throws MxError MX_INVALID_ARGUMENT such as
 * "cannot reach Redis at redis://127.0.0.1:1: connection refused" after at most `timeoutMs`, and the caller's
 * `signal.reason` when it aborts.
 * @example
 * const redis = await connectRedis(parseRedisUrl('redis://127.0.0.1:6379'), { name: 'mxray-scan' });
 */
export async function connectRedis(
  target: RedisTarget,
  options: { name: string; blocking?: boolean; timeoutMs?: number; signal?: AbortSignal },
): Promise<Redis> {
  options.signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? REDIS_CONNECT_MS;
  // The first connection does not reconnect: a refusal is final, and it is reported at once.
  const client = new Redis({
    ...redisOptions(target, options),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: unknown = null;
  client.on('error', (err: unknown) => (lastError = err));
  const limit = deadline(options.signal, timeoutMs);
  const check = async (): Promise<void> => {
    await client.connect();
    const info = await client.info('server');
    const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? '0';
    if (!versionAtLeast(version, REDIS_MIN_VERSION)) {
      throw new MxError(
        'MX_INVALID_ARGUMENT',
        `Redis at ${target.display} is version ${version}; the scan queue needs ${REDIS_MIN_VERSION} or newer`,
      );
    }
  };
  // On the deadline or the caller's abort the connection is torn down, which ends the check; ioredis may take
  // its time to reject the pending connect, so the wait ends at once rather than with it.
  let onAbort = (): void => undefined;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => {
      client.disconnect();
      reject(limit.reason as Error);
    };
    limit.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const work = check();
    work.catch(() => undefined); // when the deadline wins, the check's own failure no longer matters
    await Promise.race([work, stopped]);
  } catch (err) {
    client.disconnect();
    if (isMxError(err)) throw err;
    if (options.signal?.aborted) throw options.signal.reason;
    const why =
      limit.aborted && isTimeoutReason(limit.reason)
        ? `no answer within ${timeoutMs / 1000} s`
        : describeRedisError(lastError ?? err);
    throw new MxError('MX_INVALID_ARGUMENT', `cannot reach Redis at ${target.display}: ${why}`, {
      cause: lastError ?? err,
    });
  } finally {
    limit.removeEventListener('abort', onAbort);
  }
  // From here on, a lost connection is retried (boundedly) and commands wait for it in the offline queue.
  client.options.retryStrategy = redisOptions(target, options).retryStrategy;
  client.options.enableOfflineQueue = true;
  return client;
}
