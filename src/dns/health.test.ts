import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../core/random.js';
import { ServerHealth } from './health.js';
import { backoffMs } from './resolver.js';

describe('server health', () => {
  it('sends most first questions to the quick server, but never none to the slow one', () => {
    const health = new ServerHealth(2, seededRng(1));
    for (let i = 0; i < 50; i++) {
      health.record(0, true, 2);
      health.record(1, true, 200);
    }
    const picks = [0, 0];
    for (let i = 0; i < 10_000; i++) picks[health.pick()]!++;
    assert.ok(picks[0]! > 9500, `quick server got ${picks[0]}`);
    assert.ok(picks[1]! > 0, 'the slow server still gets some questions');
  });

  it('turns away from a failing server and back when it recovers', () => {
    const health = new ServerHealth(2, seededRng(2));
    for (let i = 0; i < 20; i++) {
      health.record(0, false, 2000);
      health.record(1, true, 5);
    }
    assert.ok(health.weight(1) > 100 * health.weight(0));
    for (let i = 0; i < 40; i++) health.record(0, true, 5);
    assert.ok(health.weight(0) > 0.5 * health.weight(1), JSON.stringify(health.snapshot()));
  });

  it('tries servers not yet heard from, and has nothing to choose with one server', () => {
    const fresh = new ServerHealth(3, seededRng(3));
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) seen.add(fresh.pick());
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
    assert.equal(new ServerHealth(1).pick(), 0);
  });
});

describe('retry back-off', () => {
  it('doubles from 100 ms to at most 1.6 s, jittered by a quarter', () => {
    assert.equal(
      backoffMs(1, () => 0.5),
      100,
    );
    assert.equal(
      backoffMs(2, () => 0.5),
      200,
    );
    assert.equal(
      backoffMs(3, () => 0.5),
      400,
    );
    assert.equal(
      backoffMs(10, () => 0.5),
      1600,
    );
    assert.equal(
      backoffMs(1, () => 0),
      75,
    );
    assert.equal(
      backoffMs(1, () => 0.999),
      125,
    );
  });
});
