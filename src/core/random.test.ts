import assert from 'node:assert/strict';
import { it } from 'node:test';
import { seededRng, shuffle, systemRng } from './random.js';

it('seededRng repeats its sequence for one seed and differs across seeds', () => {
  const a = seededRng(7);
  const b = seededRng(7);
  const c = seededRng(8);
  const sa = Array.from({ length: 5 }, a);
  assert.deepEqual(sa, Array.from({ length: 5 }, b));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, c));
  assert.ok(sa.every((x) => x >= 0 && x < 1));
});

it('shuffle is a permutation and visits every order (uniformity over 6000 shuffles)', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const s = shuffle(['a', 'b', 'c'], systemRng).join('');
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `count ${n} far from 1000`);
});
