/**
 * @module core/signal
 * Nested time budgets. Our own deadline firing is an outcome (`timeout`); the caller's abort is a throw.
 */

/** A signal that fires when `parent` aborts or after `ms` milliseconds, whichever comes first. */
export function deadline(parent: AbortSignal | undefined, ms: number): AbortSignal {
  const timer = AbortSignal.timeout(Math.max(0, ms));
  return parent ? AbortSignal.any([parent, timer]) : timer;
}

/**
 * Runs `work` with a listener on `signal` and removes the listener afterwards, whatever happens.
 * The listener gets the signal's reason.
 */
export async function withAbortListener<T>(
  signal: AbortSignal | undefined,
  onAbort: (reason: unknown) => void,
  work: () => Promise<T>,
): Promise<T> {
  if (!signal) return work();
  const listener = () => onAbort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', listener);
  }
}

/** True when the abort reason is a timeout from `AbortSignal.timeout` (ours), not the caller's abort. */
export function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === 'TimeoutError';
}

/** Waits `ms`, or throws the signal's reason when it aborts first; the listener is always removed. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
