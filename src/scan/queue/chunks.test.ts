import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMxError } from '../../core/errors.js';
import { errorRecord } from '../record.js';
import type { ScanRecord } from '../record.js';
import type { Chunk } from './chunks.js';
import { ChunkTracker, createChunker } from './chunks.js';
import type { ChunkItem } from './protocol.js';

const item = (line: number): ChunkItem => ({ line, input: `d${line}.test`, domain: `d${line}.test` });
const record = (line: number, note = ''): ScanRecord => errorRecord({ line, input: `d${line}.test` }, note);

describe('createChunker', () => {
  it('cuts domains into chunks of the size, numbered from 1 in input order, with the rest at the end', () => {
    const chunker = createChunker(3);
    const chunks: Chunk[] = [];
    for (const line of [1, 2, 4, 5, 6, 9, 10]) {
      const full = chunker.push(item(line));
      if (full) chunks.push(full);
    }
    const rest = chunker.flush();
    assert.ok(rest);
    chunks.push(rest);
    assert.deepEqual(
      chunks.map((c) => [c.chunk, c.items.map((i) => i.line)]),
      [
        [1, [1, 2, 4]],
        [2, [5, 6, 9]],
        [3, [10]],
      ],
    );
    assert.equal(chunker.flush(), null, 'nothing left');
  });

  it('refuses a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => createChunker(size),
        (err) => isMxError(err, 'MX_INVALID_ARGUMENT'),
      );
    }
  });
});

describe('ChunkTracker', () => {
  const chunk = (n: number, lines: number[]): Chunk => ({ chunk: n, items: lines.map(item) });

  it('passes each line once: a retried chunk delivering part of its lines again adds only the new ones', () => {
    const tracker = new ChunkTracker();
    tracker.add(chunk(1, [3, 4, 5, 7]));
    tracker.add(chunk(2, [8, 9]));
    assert.equal(tracker.pending, 2);

    // The first worker pushed two records before it died.
    const first = tracker.accept({ chunk: 1, records: [record(4), record(3)] });
    assert.deepEqual(
      first.fresh.map((r) => r.line),
      [4, 3],
    );
    assert.equal(first.duplicates, 0);
    assert.equal(first.completed, null);

    // The retry delivers the whole chunk: only lines 5 and 7 are new; the chunk is then complete.
    const retry = tracker.accept({ chunk: 1, records: [record(3, 'again'), record(4, 'again'), record(5), record(7)] });
    assert.deepEqual(
      retry.fresh.map((r) => r.line),
      [5, 7],
    );
    assert.equal(retry.duplicates, 2);
    assert.deepEqual(retry.completed, { chunk: 1, first: 3, last: 7, domains: 4, owed: 0 });
    assert.equal(tracker.pending, 1);

    // A worker that only lost its lock finishes the chunk a second time: everything is a duplicate.
    const late = tracker.accept({ chunk: 1, records: [record(3), record(5)] });
    assert.deepEqual(late, { fresh: [], duplicates: 2, completed: null });
  });

  it('drops a line delivered twice in one batch, and lines that are not in the chunk', () => {
    const tracker = new ChunkTracker();
    tracker.add(chunk(1, [1, 2]));
    const r = tracker.accept({ chunk: 1, records: [record(1), record(1), record(99)] });
    assert.deepEqual(
      r.fresh.map((x) => x.line),
      [1],
    );
    assert.equal(r.duplicates, 2);
    assert.deepEqual(tracker.list(), [{ chunk: 1, first: 1, last: 2, domains: 2, owed: 1 }]);
  });

  it('drop gives up a chunk with what it still owed; later records for it are duplicates', () => {
    const tracker = new ChunkTracker();
    tracker.add(chunk(4, [10, 11, 12]));
    tracker.accept({ chunk: 4, records: [record(11)] });
    assert.deepEqual(tracker.drop(4), { chunk: 4, first: 10, last: 12, domains: 3, owed: 2 });
    assert.equal(tracker.drop(4), undefined);
    assert.equal(tracker.has(4), false);
    assert.deepEqual(tracker.accept({ chunk: 4, records: [record(10)] }), {
      fresh: [],
      duplicates: 1,
      completed: null,
    });
  });

  it('refuses the same chunk number twice and an empty chunk', () => {
    const tracker = new ChunkTracker();
    tracker.add(chunk(1, [1]));
    assert.throws(
      () => tracker.add(chunk(1, [2])),
      (err) => isMxError(err, 'MX_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => tracker.add(chunk(2, [])),
      (err) => isMxError(err, 'MX_INVALID_ARGUMENT'),
    );
  });
});
