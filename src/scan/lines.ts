/**
 * @module scan/lines
 * A scan's input as batches of lines: each chunk read from the stream becomes one array of lines, so a scan
 * of a million lines pays for a million strings, not for a million rounds of promises and events
 * (`readline`'s async iterator costs both, per line). Lines end as `readline` ends them (`\n`, `\r\n` or a lone
 * `\r`, the last line with or without one), so line numbers, which `--resume` relies on, are the same.
 */
import type { Readable } from 'node:stream';

/** Lines in batches, as `scanDomains` and `startQueueScan` take them (besides any iterable of lines). */
export interface LineBatches {
  readonly batches: AsyncIterable<readonly string[]>;
  /** Stops reading at once, even while a read is waiting (a terminal nobody types into): no more batches. */
  close?(): void;
}

/** The lines of a text stream, and the error that ended the reading early, if one did. */
export interface StreamLines extends LineBatches {
  /** Set when reading failed: the batches end there, and the caller reports it. */
  readonly error: Error | null;
  close(): void;
}

const BREAK = /\r\n|\n|\r/;
const BREAKS = /[\r\n]/;

/**
 * The lines of `input` (decoded as UTF-8), in batches of what each chunk brings. Reading is linear in the
 * input however long its lines: a chunk without a line break is only set aside until one comes.
 * @example
 * const lines = streamLines(createReadStream('domains.txt'));
 * for await (const batch of lines.batches) for (const line of batch) …
 * if (lines.error) throw lines.error;
 */
export function streamLines(input: Readable): StreamLines {
  const state: { error: Error | null; closed: boolean } = { error: null, closed: false };
  // From the start, not from the first read: the stream may fail (a file removed since it was checked) before.
  input.on('error', (err: Error) => {
    if (!state.closed) state.error ??= err;
  });
  input.setEncoding('utf8');
  async function* batches(): AsyncGenerator<readonly string[], void, undefined> {
    // The line being read, in the pieces it came in (the last one may end with a `\r` waiting for its `\n`).
    let pieces: string[] = [];
    try {
      for await (const chunk of input as AsyncIterable<string>) {
        if (!BREAKS.test(chunk)) {
          pieces.push(chunk);
          continue;
        }
        pieces.push(chunk);
        let text = pieces.join('');
        // A `\r` at the end may be the first half of a `\r\n`: it waits for the next chunk.
        let held = '';
        if (text.endsWith('\r')) {
          held = '\r';
          text = text.slice(0, -1);
        }
        const lines = text.split(BREAK);
        pieces = [lines.pop()! + held];
        if (lines.length > 0) yield lines;
      }
    } catch (err) {
      if (!state.closed) state.error ??= err as Error;
      return;
    }
    if (state.closed || state.error) return;
    const rest = pieces.join('');
    if (rest !== '') yield rest.split(BREAK).filter((line, i, all) => i < all.length - 1 || line !== '');
  }
  return {
    batches: batches(),
    get error() {
      return state.error;
    },
    close() {
      state.closed = true;
      input.destroy();
    },
  };
}

/** Whether `lines` comes in batches. */
export function isLineBatches(lines: unknown): lines is LineBatches {
  return typeof lines === 'object' && lines !== null && 'batches' in lines;
}
