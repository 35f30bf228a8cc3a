/**
 * @module scan/rate-limit
 * A token bucket: at most `ratePerSecond` starts per second on average, bursts up to `burst`. Time comes from
 * an injected clock and waiting from an injected sleep, so the arithmetic is tested without real sleeps.
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { MxError } from '../core/errors.js';
import { abortableSleep } from '../core/signal.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Tokens the bucket holds at most (and starts with). Default 1: no bursts. */
  burst?: number;
  clock?: Clock;
  sleep?: Sleep;
}

export interface TokenBucket {
  /** Milliseconds until a token is available (0 when one is), taking it when available. */
  tryTake(): number;
  /** Waits for a token and takes it. Throws `signal.reason` when aborted. */
  take(signal?: AbortSignal): Promise<void>;
}

/**
 * Creates a token bucket.
 * @example
 * const bucket = createTokenBucket({ ratePerSecond: 50 });
 * await bucket.take(signal); // then start one domain
 */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const rate = options.ratePerSecond;
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new MxError('MX_INVALID_ARGUMENT', `the rate must be a positive number, got ${rate}`);
  }
  const burst = Math.max(1, options.burst ?? 1);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? abortableSleep;
  let tokens = burst;
  let last = clock.now();

  function tryTake(): number {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - tokens) / rate) * 1000);
  }

  async function take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const waitMs = tryTake();
      if (waitMs === 0) return;
      await sleep(waitMs, signal);
    }
  }

  return { tryTake, take };
}
