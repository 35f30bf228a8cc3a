/**
 * A scan's input in batches of lines: the same lines, numbered the same, as `readline` gives (which `--resume`
 * files written before relied on), however the bytes are cut into chunks; and a read error kept, not thrown.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { seededRng } from '../core/random.js';
import { streamLines } from './lines.js';

/** `bytes` as a stream of the given chunk sizes. */
function chunked(bytes: Buffer, sizes: () => number): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.max(1, sizes());
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return Readable.from(chunks);
}

async function viaReadline(bytes: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const line of createInterface({ input: Readable.from([bytes]), crlfDelay: Infinity })) out.push(line);
  return out;
}

async function viaBatches(stream: Readable): Promise<string[]> {
  const lines = streamLines(stream);
  const out: string[] = [];
  for await (const batch of lines.batches) out.push(...batch);
  assert.equal(lines.error, null);
  return out;
}

describe('streamLines', () => {
  it('splits as readline does: \\n, \\r\\n, a lone \\r, blank lines, no final break, UTF-8 cut anywhere', async () => {
    const rng = seededRng(11);
    const pieces = ['example.com', 'bücher.example', '', ' spaced.test ', '# note', 'a,b,"c"', 'xn--bcher-kva.example'];
    const breaks = ['\n', '\r\n', '\r', '\n\n', '\r\n\r\n'];
    for (let round = 0; round < 300; round++) {
      let text = '';
      const n = Math.floor(rng() * 12);
      for (let i = 0; i < n; i++) {
        text += pieces[Math.floor(rng() * pieces.length)]!;
        if (i < n - 1 || rng() < 0.5) text += breaks[Math.floor(rng() * breaks.length)]!;
      }
      const bytes = Buffer.from(text, 'utf8');
      const got = await viaBatches(chunked(bytes, () => Math.floor(rng() * 7)));
      assert.deepEqual(got, await viaReadline(bytes), JSON.stringify(text));
    }
  });

  it('hands over a chunk’s lines as one batch', async () => {
    const lines = streamLines(Readable.from([Buffer.from('a.test\nb.test\nc.te'), Buffer.from('st\n')]));
    const batches: (readonly string[])[] = [];
    for await (const batch of lines.batches) batches.push(batch);
    assert.deepEqual(batches, [['a.test', 'b.test'], ['c.test']]);
  });

  it('reads a line far longer than a chunk, then the lines after it', async () => {
    const long = 'x'.repeat(1 << 20);
    const bytes = Buffer.from(`a.test\n${long}\r\nb.test\n`);
    const got = await viaBatches(chunked(bytes, () => 4096));
    assert.deepEqual(
      got.map((l) => l.length),
      [6, long.length, 6],
    );
  });

  it('keeps an error of the stream from before the first read', async () => {
    const input = new PassThrough();
    const lines = streamLines(input);
    input.destroy(new Error('EACCES: permission denied'));
    await new Promise((resolve) => setImmediate(resolve));
    const got: string[] = [];
    for await (const batch of lines.batches) got.push(...batch);
    assert.deepEqual(got, []);
    assert.match(lines.error?.message ?? '', /EACCES/);
  });

  it('keeps a read error for the caller and ends the lines there', async () => {
    const input = new PassThrough();
    const lines = streamLines(input);
    const got: string[] = [];
    const reading = (async () => {
      for await (const batch of lines.batches) got.push(...batch);
    })();
    input.write('a.test\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    input.destroy(new Error('EIO: the disk went away'));
    await reading;
    assert.deepEqual(got, ['a.test']);
    assert.match(lines.error?.message ?? '', /disk went away/);
  });
});
