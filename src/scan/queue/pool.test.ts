import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nxdomainResolver } from '../../../test/helpers/fake-resolver.js';
import type { ScanRecord } from '../record.js';
import { createDomainPool } from './pool.js';
import type { ChunkItem } from './protocol.js';

const sleep = (ms: number) => new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms));

/** Resolves NXDOMAIN after `turns` to `turns + 2` turns of the event loop (by the name's length). */
const fakeResolver = (turns = 3) => nxdomainResolver((name) => turns + (name.length % 3));

/** A chunk of `n` domains whose input lines start at `first`, with a gap every 7 lines (skipped input). */
function items(first: number, n: number, tag: string): ChunkItem[] {
  const out: ChunkItem[] = [];
  let line = first;
  for (let i = 0; i < n; i++) {
    if (i % 7 === 6) line++;
    out.push({ line, input: `${tag}${i}.Test`, domain: `${tag}${i}.test` });
    line++;
  }
  return out;
}

describe('createDomainPool', () => {
  it('gives each domain of each chunk its record, with the chunk’s input line and text', async () => {
    const { resolver } = fakeResolver();
    const pool = createDomainPool({ resolver, concurrency: 5 });
    const a = items(1000, 30, 'a');
    const b = items(5000, 12, 'b');
    const got = { a: [] as ScanRecord[], b: [] as ScanRecord[] };
    const [ra, rb] = await Promise.all([
      pool.run(a, { onRecord: (r) => got.a.push(r) }),
      pool.run(b, { onRecord: (r) => got.b.push(r) }),
    ]);
    assert.equal(ra, 'done');
    assert.equal(rb, 'done');
    for (const [chunk, records] of [
      [a, got.a],
      [b, got.b],
    ] as const) {
      const byLine = new Map(records.map((r) => [r.line, r]));
      assert.equal(byLine.size, chunk.length, 'one record per domain');
      for (const item of chunk) {
        const r = byLine.get(item.line);
        assert.ok(r, `line ${item.line}`);
        assert.equal(r.domain, item.domain);
        assert.equal(r.input, item.input);
        assert.equal(r.outcome, 'no-domain');
      }
    }
  });

  it('keeps the window full across chunks, never above the concurrency', async () => {
    const { resolver, state } = fakeResolver(5);
    const pool = createDomainPool({ resolver, concurrency: 8 });
    // Chunks arrive one after another while the previous ones are still running.
    const runs = [];
    for (let c = 0; c < 5; c++) {
      runs.push(pool.run(items(c * 100 + 1, 13, `c${c}x`), { onRecord: () => undefined }));
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(await Promise.all(runs), ['done', 'done', 'done', 'done', 'done']);
    assert.equal(state.maxInflight, 8);
    assert.equal(new Set(state.asked.filter((n) => n.endsWith('.test'))).size, 65);
  });

  it('starts a chunk that comes while the one before still has a slow domain in flight', async () => {
    // `slow…` names take 400 turns of the event loop, the others 1 to 3.
    const { resolver, state } = nxdomainResolver((name) => (name.startsWith('slow') ? 400 : 1 + (name.length % 3)));
    const pool = createDomainPool({ resolver, concurrency: 4 });
    const order: string[] = [];
    const first = pool.run([{ line: 1, input: 'slow.test', domain: 'slow.test' }, ...items(2, 5, 'a')], {
      onRecord: (r) => order.push(r.domain!),
    });
    // The next chunk comes once the first has only its slow domain left.
    while (order.length < 5) await new Promise((r) => setImmediate(r));
    const second = pool.run(items(100, 12, 'b'), { onRecord: (r) => order.push(r.domain!) });
    const settled: string[] = [];
    await Promise.all([first.then(() => settled.push('first')), second.then(() => settled.push('second'))]);
    assert.deepEqual(settled, ['second', 'first'], 'the second chunk did not wait for the first one’s slow domain');
    assert.equal(order.at(-1), 'slow.test');
    assert.equal(order.length, 18);
    assert.ok(state.maxInflight <= 4);
  });

  it('a cancelled chunk settles at once; its domains not yet started are never asked', async () => {
    const { resolver, state } = fakeResolver(20);
    const pool = createDomainPool({ resolver, concurrency: 2 });
    const controller = new AbortController();
    const records: ScanRecord[] = [];
    const run = pool.run(items(1, 40, 'gone'), { onRecord: (r) => records.push(r), signal: controller.signal });
    const other: ScanRecord[] = [];
    const kept = pool.run(items(100, 3, 'kept'), { onRecord: (r) => other.push(r) });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    assert.equal(await run, 'cancelled');
    assert.equal(await kept, 'done');
    assert.equal(other.length, 3);
    const asked = new Set(state.asked.filter((n) => n.startsWith('gone')));
    assert.ok(asked.size <= 4, `${asked.size} cancelled domains were asked`);
    assert.ok(records.length <= asked.size);
    assert.equal(
      await pool.run(items(1, 2, 'late'), { onRecord: () => undefined, signal: controller.signal }),
      'cancelled',
    );
  });

  it('a drained chunk starts no more domains but hands in those in flight, then settles', async () => {
    const { resolver, state } = fakeResolver(20);
    const pool = createDomainPool({ resolver, concurrency: 2 });
    const drain = new AbortController();
    const records: ScanRecord[] = [];
    const run = pool.run(items(1, 40, 'drained'), { onRecord: (r) => records.push(r), drain: drain.signal });
    const other: ScanRecord[] = [];
    const kept = pool.run(items(100, 3, 'kept'), { onRecord: (r) => other.push(r) });
    await new Promise((r) => setImmediate(r));
    drain.abort();
    assert.equal(await run, 'cancelled');
    assert.equal(await kept, 'done');
    assert.equal(other.length, 3);
    const asked = new Set(state.asked.filter((n) => n.startsWith('drained')));
    assert.ok(asked.size >= 1 && asked.size <= 4, `${asked.size} domains of the drained chunk were asked`);
    // Every domain that was started has its record: none is lost to the drain.
    assert.deepEqual(new Set(records.map((r) => r.domain)), asked);
    assert.equal(
      await pool.run(items(1, 2, 'late'), { onRecord: () => assert.fail('no record'), drain: drain.signal }),
      'cancelled',
    );
  });

  it('a chunk item that carries no domain (blank, a comment) gets a failed record; its chunk completes', async () => {
    const { resolver } = fakeResolver();
    const pool = createDomainPool({ resolver, concurrency: 4 });
    for (const bad of ['#comment.test', '   ']) {
      const records: ScanRecord[] = [];
      const chunk = [
        { line: 1, input: 'a.test', domain: 'a.test' },
        { line: 2, input: bad, domain: bad },
      ];
      const result = await Promise.race([pool.run(chunk, { onRecord: (r) => records.push(r) }), sleep(3000)]);
      assert.equal(result, 'done', JSON.stringify(bad));
      assert.deepEqual(records.map((r) => `${r.line} ${r.outcome} ${r.error}`).sort(), [
        '1 no-domain null',
        '2 null not a domain name',
      ]);
    }
  });

  it('a drained chunk with a line that carries no domain still hands in every domain in flight', async () => {
    const { resolver } = fakeResolver(20);
    const pool = createDomainPool({ resolver, concurrency: 4 });
    const drain = new AbortController();
    const records: ScanRecord[] = [];
    const chunk = [{ line: 1, input: '#note', domain: '#note' }, ...items(2, 3, 'd')];
    const run = pool.run(chunk, { onRecord: (r) => records.push(r), drain: drain.signal });
    await new Promise((r) => setImmediate(r));
    drain.abort();
    assert.equal(await run, 'done');
    assert.deepEqual(
      records.map((r) => r.line),
      [1, 2, 3, 4],
    );
  });

  it('a chunk whose consumer throws fails alone; the other chunks of the pass go on', async () => {
    const { resolver, state } = nxdomainResolver((name) => (name.startsWith('slow') ? 30 : 1));
    const pool = createDomainPool({ resolver, concurrency: 4 });
    const broken = pool.run(items(1, 1, 'a'), {
      onRecord: () => {
        throw new Error('the sink broke');
      },
    });
    const others: ScanRecord[] = [];
    const other = pool.run(items(10, 3, 'slow'), { onRecord: (r) => others.push(r) });
    await assert.rejects(Promise.race([broken, sleep(3000)]), /the sink broke/);
    assert.equal(await Promise.race([other, sleep(3000)]), 'done');
    assert.equal(others.length, 3);
    // Thrown for a line that carries no domain, while the chunk is handed in: the run fails, nothing is left
    // behind to be scanned for it later.
    const left = pool.run([{ line: 1, input: '#c', domain: '#c' }, ...items(2, 2, 'never')], {
      onRecord: () => {
        throw new Error('the sink broke again');
      },
    });
    await assert.rejects(left, /the sink broke again/);
    const after: ScanRecord[] = [];
    assert.equal(await pool.run(items(50, 2, 'after'), { onRecord: (r) => after.push(r) }), 'done');
    assert.deepEqual(after.map((r) => r.domain).sort(), ['after0.test', 'after1.test']);
    assert.ok(!state.asked.some((n) => n.startsWith('never')), 'the failed chunk’s domains were not asked');
  });

  it('chunks that come after a pass failed (a bug below the route) are all answered', async () => {
    const { resolver } = fakeResolver();
    const resolve = resolver.resolve.bind(resolver);
    resolver.resolve = async (question, call) => {
      if (question.name !== 'bug.test') return resolve(question, call);
      await new Promise((r) => setImmediate(r));
      throw new TypeError('a bug below the route');
    };
    const pool = createDomainPool({ resolver, concurrency: 4 });
    // The failing pass's feed is left waiting for more: it must not take the next chunks.
    const failed = pool.run([{ line: 1, input: 'bug.test', domain: 'bug.test' }, ...items(2, 1, 'f')], {
      onRecord: () => undefined,
    });
    await assert.rejects(failed, /a bug below the route/);
    const got = { b: [] as ScanRecord[], c: [] as ScanRecord[] };
    const b = pool.run(items(100, 20, 'b'), { onRecord: (r) => got.b.push(r) });
    await new Promise((r) => setImmediate(r));
    const c = pool.run(items(200, 5, 'c'), { onRecord: (r) => got.c.push(r) });
    assert.deepEqual(await Promise.race([Promise.all([b, c]), sleep(3000)]), ['done', 'done']);
    assert.equal(got.b.length, 20);
    assert.equal(got.c.length, 5);
  });

  it('an empty chunk is done at once', async () => {
    const { resolver } = fakeResolver();
    assert.equal(await createDomainPool({ resolver }).run([], { onRecord: () => assert.fail('no record') }), 'done');
  });
});
