import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nxdomainResolver } from '../../test/helpers/fake-resolver.js';
import type { ScanRecord } from './record.js';
import { scanDomains } from './scan.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves NXDOMAIN to everything after 1–4 turns of the event loop (by the name's length). */
const fakeResolver = () => nxdomainResolver((name) => 1 + (name.length % 4));

async function collect(it: AsyncIterable<ScanRecord>): Promise<ScanRecord[]> {
  const out: ScanRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('scanDomains', () => {
  it('yields each domain line exactly once, within the concurrency window', async () => {
    const { resolver, state } = fakeResolver();
    const lines = Array.from({ length: 100 }, (_, i) => `d${i}.test`);
    const records = await collect(scanDomains(lines, { resolver, concurrency: 7 }));
    assert.equal(records.length, 100);
    assert.deepEqual(
      records.map((r) => r.line).sort((a, b) => a - b),
      lines.map((_, i) => i + 1),
    );
    assert.ok(records.every((r) => r.outcome === 'no-domain' && r.error === null && r.domain === r.input));
    assert.equal(state.maxInflight, 7);
  });

  it('pulls input only as the window frees up (streams, never reads ahead)', async () => {
    const { resolver } = fakeResolver();
    let pulled = 0;
    async function* lines() {
      for (let i = 0; i < 1000; i++) {
        await Promise.resolve();
        pulled++;
        yield `d${i}.test`;
      }
    }
    let seen = 0;
    for await (const r of scanDomains(lines(), { resolver, concurrency: 4 })) {
      void r;
      seen++;
      assert.ok(pulled - seen <= 4, `pulled ${pulled}, yielded ${seen}`);
    }
    assert.equal(seen, 1000);
  });

  it('reports invalid lines with their numbers, skips blanks and skipped lines', async () => {
    const { resolver } = fakeResolver();
    const records = await collect(
      scanDomains(['a.test', '', 'bad..name', '# note', 'b.test', 'c.test'], {
        resolver,
        skip: (line) => line === 6,
      }),
    );
    assert.deepEqual(records.map((r) => r.line).sort(), [1, 3, 5]);
    const bad = records.find((r) => r.line === 3)!;
    assert.equal(bad.outcome, null);
    assert.equal(bad.input, 'bad..name');
    assert.match(bad.error ?? '', /invalid domain name/);
  });

  it('stops taking domains on abort, finishes those in flight, then ends', async () => {
    const { resolver, state } = fakeResolver();
    const controller = new AbortController();
    const lines = Array.from({ length: 50 }, (_, i) => `d${i}.test`);
    const records: ScanRecord[] = [];
    for await (const r of scanDomains(lines, { resolver, concurrency: 5, signal: controller.signal })) {
      records.push(r);
      if (records.length === 10) controller.abort();
    }
    assert.ok(records.length >= 10 && records.length <= 15, `got ${records.length}`);
    assert.equal(state.inflight, 0);
    assert.equal(new Set(records.map((r) => r.line)).size, records.length);
  });

  it('hands out the records of the domains in flight while the input waits, and stops while it waits', async () => {
    const { resolver, state } = fakeResolver();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* lines() {
      yield* ['a.test', 'b.test', 'c.test'];
      await gate; // the next chunk of a queue worker, a pipe nobody writes to yet
      yield* ['d.test', 'e.test'];
    }
    const controller = new AbortController();
    const records = scanDomains(lines(), { resolver, concurrency: 10, signal: controller.signal });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await Promise.race([records.next(), sleep(2000).then(() => null)]);
      assert.ok(next && next.done !== true, `record ${i + 1} came while the input waited`);
      seen.push(next.value.domain!);
    }
    assert.deepEqual(seen.sort(), ['a.test', 'b.test', 'c.test']);
    release();
    for (let i = 0; i < 2; i++) seen.push((await records.next()).value!.domain!);
    assert.deepEqual(seen.slice(3).sort(), ['d.test', 'e.test']);

    // Stopped while the input waits (and nothing is in flight): the scan ends at once.
    async function* stalled() {
      yield 'f.test';
      await new Promise(() => undefined);
    }
    const stopping = scanDomains(stalled(), { resolver, concurrency: 10, signal: controller.signal });
    assert.equal((await stopping.next()).value!.domain, 'f.test');
    controller.abort();
    assert.equal((await Promise.race([stopping.next(), sleep(2000).then(() => null)]))?.done, true);
    assert.equal(state.inflight, 0);
  });

  it('reads a CSV column', async () => {
    const { resolver } = fakeResolver();
    const records = await collect(scanDomains(['id,domain', '1,a.test', '2,b.test'], { resolver, column: 'domain' }));
    assert.deepEqual(records.map((r) => r.domain).sort(), ['a.test', 'b.test']);
  });

  it('paces starts with the rate limit', async () => {
    const { resolver } = fakeResolver();
    let now = 0;
    const slept: number[] = [];
    const records = await collect(
      scanDomains(['a.test', 'b.test', 'c.test'], {
        resolver,
        ratePerSecond: 2,
        rateLimit: {
          clock: { now: () => now },
          sleep: (ms) => {
            slept.push(ms);
            now += ms;
            return Promise.resolve();
          },
        },
      }),
    );
    assert.equal(records.length, 3);
    assert.deepEqual(slept, [500, 500]);
  });
});
