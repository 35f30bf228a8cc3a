import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fakeClock } from '../core/clock.js';
import { DnsCache } from './cache.js';

it('evicts the least recently used entry when full, and expires entries by TTL', () => {
  const clock = fakeClock(0);
  const cache = new DnsCache<string>({ clock, maxEntries: 2 });
  cache.set('shared-host', 'a', 60);
  cache.set('domain-1', 'b', 60);
  assert.equal(cache.get('shared-host')?.value, 'a'); // a hit keeps it young
  cache.set('domain-2', 'c', 60);
  assert.equal(cache.get('domain-1'), undefined, 'the least recently used entry went');
  assert.equal(cache.get('shared-host')?.value, 'a');
  clock.advance(60_000);
  assert.equal(cache.get('shared-host'), undefined, 'expired after its TTL');
});
