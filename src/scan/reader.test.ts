/**
 * The scan's input reader: line numbers, skipped lines, and a stop while waiting for input that may never come
 * (stdin from a terminal).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { streamLines } from './lines.js';
import { createScanReader } from './reader.js';

/** Yields `lines`, then waits forever, like a terminal nobody types into. */
async function* silentAfter(lines: string[]): AsyncGenerator<string> {
  yield* lines;
  await new Promise(() => undefined);
}

describe('scan reader', () => {
  it('numbers lines from 1, passes over skipped ones, comments and blanks, and ends', async () => {
    const reader = createScanReader(['a.example', '', '# note', 'b.example', 'c.example'], {
      skip: (line) => line === 4,
    });
    const got: string[] = [];
    for (;;) {
      const r = await reader.next();
      if (r.kind !== 'line') {
        assert.equal(r.kind, 'end');
        break;
      }
      got.push(`${r.input.line} ${r.input.domain}`);
    }
    assert.deepEqual(got, ['1 a.example', '5 c.example']);
  });

  it('gives up the wait for the next line when stopped, at once, and again after that', async () => {
    const stop = new AbortController();
    const reader = createScanReader(silentAfter(['a.example']), { signal: stop.signal });
    assert.equal((await reader.next()).kind, 'line');
    const waiting = reader.next();
    setTimeout(() => stop.abort(), 30);
    const started = Date.now();
    assert.equal((await waiting).kind, 'stopped');
    assert.ok(Date.now() - started < 1000);
    assert.equal((await reader.next()).kind, 'stopped');
  });

  it('stops and closes at once while a stream of lines has nothing more to give (Ctrl-C on a quiet stdin)', async () => {
    const stop = new AbortController();
    const input = new PassThrough();
    const reader = createScanReader(streamLines(input), { signal: stop.signal });
    input.write('a.example\n');
    assert.equal((await reader.next()).kind, 'line');
    const waiting = reader.next();
    setTimeout(() => stop.abort(), 30);
    assert.equal((await waiting).kind, 'stopped');
    // close() must not wait for a chunk that never comes: the stream is ended instead.
    const closed = await Promise.race([
      reader.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000)),
    ]);
    assert.equal(closed, 'closed');
    assert.ok(input.destroyed);
  });

  it('passes on a failing input', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield 'a.example';
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('read failed');
    }
    const reader = createScanReader(failing(), { signal: new AbortController().signal });
    assert.equal((await reader.next()).kind, 'line');
    await assert.rejects(reader.next(), /read failed/);
  });
});
