import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResumeIndexer, indexScanOutput, LineSet } from './resume.js';

const enc = (s: string) => Buffer.from(s, 'utf8');

describe('indexScanOutput', () => {
  it('collects the line numbers of whole records', () => {
    const out = indexScanOutput(enc('{"line":1}\n{"line":5}\n'));
    assert.deepEqual([...out.done], [1, 5]);
    assert.equal(out.validBytes, 22);
    assert.equal(out.torn, false);
  });

  it('cuts a torn last line away (its domain is scanned again)', () => {
    const out = indexScanOutput(enc('{"line":1}\n{"line":2}\n{"line":3,"dom'));
    assert.deepEqual([...out.done], [1, 2]);
    assert.equal(out.validBytes, 22);
    assert.equal(out.torn, true);
  });

  it('counts bytes, not characters, so truncation is exact for UTF-8', () => {
    const text = '{"line":1,"input":"bücher"}\n';
    assert.equal(indexScanOutput(enc(text + '{"li')).validBytes, Buffer.byteLength(text));
  });

  it('takes an empty or headless file as nothing done, and ignores whole non-JSON lines', () => {
    const empty = indexScanOutput(enc(''));
    assert.deepEqual([empty.done.size, empty.validBytes, empty.torn], [0, 0, false]);
    const torn = indexScanOutput(enc('{"line":9'));
    assert.deepEqual([torn.done.size, torn.validBytes, torn.torn], [0, 0, true]);
    assert.deepEqual([...indexScanOutput(enc('garbage\n{"line":2}\n')).done], [2]);
  });

  it('reads the output in chunks that split records and UTF-8 sequences anywhere', () => {
    const text = '{"line":1,"input":"bücher"}\n{"line":2}\n\n{"line":40000}\n{"line":3';
    const bytes = enc(text);
    for (let size = 1; size <= 7; size++) {
      const indexer = createResumeIndexer();
      for (let i = 0; i < bytes.length; i += size) indexer.push(bytes.subarray(i, i + size));
      const out = indexer.finish();
      assert.deepEqual([...out.done], [1, 2, 40000]);
      assert.equal(out.validBytes, bytes.lastIndexOf(0x0a) + 1);
      assert.equal(out.torn, true);
    }
  });
});

describe('LineSet', () => {
  it('keeps line numbers as bits, growing as needed', () => {
    const set = new LineSet();
    for (const n of [5, 1, 5, 1_000_000, 8]) set.add(n);
    set.add(0);
    set.add(-3);
    set.add(2.5);
    assert.equal(set.size, 4);
    assert.deepEqual([...set], [1, 5, 8, 1_000_000]);
    assert.equal(set.has(5), true);
    assert.equal(set.has(6), false);
    assert.equal(set.has(2_000_000), false);
  });
});
