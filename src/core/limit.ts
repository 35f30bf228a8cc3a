/**
 * @module core/limit
 * A concurrency limit shared by independent pieces of work (a semaphore): at most `n` run at once, the rest
 * wait in order.
 */

/** Runs `work` when a slot is free and frees the slot when it settles. */
export type Limiter = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * @example
 * const smtpSlots = createLimiter(8);
 * await Promise.all(domains.map((d) => smtpSlots(() => probe(d))));
 */
export function createLimiter(n: number): Limiter {
  const size = Math.max(1, Math.floor(n));
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= size) await new Promise<void>((go) => waiting.push(go));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
