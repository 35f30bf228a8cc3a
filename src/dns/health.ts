/**
 * @module dns/health
 * Which server to ask first, when there are several: each server's smoothed response time (an EWMA, as BIND's
 * SRTT) and its recent failure rate make a weight, and the first server of each question is drawn by weight.
 * A slow or failing resolver so gets fewer questions but never none, so it is noticed when it recovers.
 */
import type { Rng } from '../core/random.js';
import { systemRng } from '../core/random.js';

/** Smoothing of the response time and failure rate: each new exchange counts for a fifth. */
const ALPHA = 0.2;
/** A server not yet heard from is assumed this quick, so it gets tried. */
const INITIAL_MS = 10;
/** Floor of the response time in the weight, so a very fast server cannot starve the others entirely. */
const FLOOR_MS = 1;

interface Score {
  srttMs: number;
  failRate: number;
}

/** The health of a fixed list of servers, by index. */
export class ServerHealth {
  private readonly scores: Score[];
  private readonly rng: Rng;

  constructor(count: number, rng: Rng = systemRng) {
    this.scores = Array.from({ length: count }, () => ({ srttMs: INITIAL_MS, failRate: 0 }));
    this.rng = rng;
  }

  /** Records one exchange with server `index`: answered (any rcode that is a real answer) or failed, and its time. */
  record(index: number, ok: boolean, elapsedMs: number): void {
    const s = this.scores[index];
    if (!s) return;
    s.srttMs += ALPHA * (Math.max(0, elapsedMs) - s.srttMs);
    s.failRate += ALPHA * ((ok ? 0 : 1) - s.failRate);
  }

  /** The weight of server `index`: higher is better. */
  weight(index: number): number {
    const s = this.scores[index]!;
    return 1 / (Math.max(FLOOR_MS, s.srttMs) * (1 + 9 * s.failRate));
  }

  /** Draws the server to ask first, by weight. */
  pick(): number {
    const n = this.scores.length;
    if (n <= 1) return 0;
    let total = 0;
    for (let i = 0; i < n; i++) total += this.weight(i);
    let draw = this.rng() * total;
    for (let i = 0; i < n; i++) {
      draw -= this.weight(i);
      if (draw < 0) return i;
    }
    return n - 1;
  }

  /** The scores, for reports and tests. */
  snapshot(): { srttMs: number; failRate: number }[] {
    return this.scores.map((s) => ({
      srttMs: Math.round(s.srttMs * 10) / 10,
      failRate: Math.round(s.failRate * 100) / 100,
    }));
  }
}
