/**
 * Unit tests of the pure parts of the route: the order of exchanges (RFC 5321 §5.1), checked against a
 * straightforward statement of the rule on many random MX sets with the same random numbers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rng } from '../core/random.js';
import { seededRng, shuffle } from '../core/random.js';
import { orderExchanges } from './route.js';

interface Entry {
  preference: number;
  exchange: string;
}

/** The rule as written: best preference per exchange, groups by ascending preference, each group shuffled. */
function reference(entries: readonly Entry[], rng: Rng, warnings: string[]): Entry[] {
  if (entries.length === 1) return [entries[0]!];
  const best = new Map<string, Entry>();
  for (const e of entries) {
    const seen = best.get(e.exchange);
    if (!seen) {
      best.set(e.exchange, e);
      continue;
    }
    const keep = e.preference < seen.preference ? e : seen;
    warnings.push(
      `${e.exchange} ${Math.min(seen.preference, e.preference)} ${Math.max(seen.preference, e.preference)}`,
    );
    best.set(e.exchange, keep);
  }
  const groups = new Map<number, Entry[]>();
  for (const e of best.values()) groups.set(e.preference, [...(groups.get(e.preference) ?? []), e]);
  return [...groups.keys()].sort((a, b) => a - b).flatMap((p) => shuffle(groups.get(p)!, rng));
}

describe('orderExchanges', () => {
  it('orders like the plain statement of RFC 5321 §5.1 on 5,000 random MX sets, short and long', () => {
    const gen = seededRng(11);
    for (let n = 0; n < 5000; n++) {
      const size = n % 50 === 0 ? 20 + Math.floor(gen() * 40) : 1 + Math.floor(gen() * 6);
      const hosts = 1 + Math.floor(gen() * size);
      const entries = Array.from({ length: size }, () => ({
        preference: [0, 5, 10, 10, 20, 65535][Math.floor(gen() * 6)]!,
        exchange: `mx${Math.floor(gen() * hosts)}.example.test`,
      }));
      const got: string[] = [];
      const want: string[] = [];
      const seed = Math.floor(gen() * 1e9);
      const ordered = orderExchanges(entries, seededRng(seed), got);
      assert.deepEqual(ordered, reference(entries, seededRng(seed), want), JSON.stringify(entries));
      assert.equal(got.length, want.length);
    }
  });

  it('keeps a doubled exchange once, at its best preference, with a warning', () => {
    const warnings: string[] = [];
    const ordered = orderExchanges(
      [
        { preference: 20, exchange: 'b.example.test' },
        { preference: 10, exchange: 'a.example.test' },
        { preference: 5, exchange: 'b.example.test' },
      ],
      seededRng(1),
      warnings,
    );
    assert.deepEqual(
      ordered.map((e) => `${e.preference} ${e.exchange}`),
      ['5 b.example.test', '10 a.example.test'],
    );
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /b\.example\.test is listed more than once \(preferences 5 and 20\); it is tried once, at 5/,
    );
  });

  it('spreads equal preferences: each of three hosts comes first about a third of the time', () => {
    const entries = ['a', 'b', 'c'].map((h) => ({ preference: 10, exchange: `${h}.example.test` }));
    const rng = seededRng(3);
    const first = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const top = orderExchanges(entries, rng)[0]!.exchange;
      first.set(top, (first.get(top) ?? 0) + 1);
    }
    for (const count of first.values()) assert.ok(count > 850 && count < 1150, JSON.stringify([...first]));
  });
});
