import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock } from '../core/clock.js';
import { isMxError } from '../core/errors.js';
import { createTokenBucket } from './rate-limit.js';

describe('createTokenBucket', () => {
  it('allows the burst at once, then one token per 1/rate seconds', () => {
    const clock = fakeClock(0);
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 2, clock });
    assert.equal(bucket.tryTake(), 0);
    assert.equal(bucket.tryTake(), 0);
    assert.equal(bucket.tryTake(), 100);
    clock.advance(50);
    assert.equal(bucket.tryTake(), 50);
    clock.advance(50);
    assert.equal(bucket.tryTake(), 0);
    clock.advance(10_000);
    assert.equal(bucket.tryTake(), 0);
    assert.equal(bucket.tryTake(), 0);
    assert.equal(bucket.tryTake(), 100, 'never more than the burst after a long idle');
  });

  it('take() sleeps for the computed time on the injected clock', async () => {
    const clock = fakeClock(0);
    const slept: number[] = [];
    const bucket = createTokenBucket({
      ratePerSecond: 4,
      clock,
      sleep: (ms) => {
        slept.push(ms);
        clock.advance(ms);
        return Promise.resolve();
      },
    });
    for (let i = 0; i < 5; i++) await bucket.take();
    assert.deepEqual(slept, [250, 250, 250, 250]);
    assert.equal(clock.now(), 1000);
  });

  it('take() throws the abort reason', async () => {
    const bucket = createTokenBucket({ ratePerSecond: 1, clock: fakeClock(0) });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
  });

  it('rejects a rate that is not a positive number', () => {
    for (const rate of [0, -1, Number.NaN, Infinity]) {
      assert.throws(
        () => createTokenBucket({ ratePerSecond: rate }),
        (err) => isMxError(err, 'MX_INVALID_ARGUMENT'),
      );
    }
  });
});
