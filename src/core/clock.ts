/**
 * @module core/clock
 * Injected time, so caches and schedules are tested with a fake clock instead of real sleeps.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
}

/** @example const clock = fakeClock(0); clock.advance(1000); clock.now() === 1000 */
export function fakeClock(startMs = 0): FakeClock {
  let t = startMs;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}
