import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLimiter } from './limit.js';

describe('createLimiter', () => {
  it('runs at most n at once, the rest in order, and frees slots on failure too', async () => {
    const limit = createLimiter(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 8 }, (_, i) =>
      limit(async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (i % 3 === 0) throw new Error(`task ${i} failed`);
        return i;
      }),
    );
    const settled = await Promise.allSettled(tasks);
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
  });
});
