/**
 * @module core/random
 * Injected randomness. Equal-preference MX hosts are shuffled with it (RFC 5321 §5.1), so tests and `--seed`
 * make the order reproducible while the default stays unpredictable.
 */
import { randomBytes } from 'node:crypto';

/** A source of floats in [0, 1). */
export type Rng = () => number;

const POOL_DRAWS = 512;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** The default: uniform from the operating system's CSPRNG, read 512 draws at a time (one call per 3 KiB). */
export const systemRng: Rng = () => {
  if (poolAt >= pool.length) {
    pool = randomBytes(6 * POOL_DRAWS);
    poolAt = 0;
  }
  const value = pool.readUIntBE(poolAt, 6) / 2 ** 48;
  poolAt += 6;
  return value;
};

/**
 * A small, fast seeded generator (mulberry32). The same seed gives the same sequence on every platform.
 * @example const rng = seededRng(42); rng(); // 0.6011…
 */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle into a new array. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  shuffleRange(out, 0, out.length, rng);
  return out;
}

/** Shuffles `items[start..end)` in place, exactly as `shuffle` does a copy of that range. */
export function shuffleRange<T>(items: T[], start: number, end: number, rng: Rng): void {
  for (let i = end - start - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[start + i]!;
    items[start + i] = items[start + j]!;
    items[start + j] = t;
  }
}
