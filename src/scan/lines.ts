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
}

/** The lines of a text stream, and the error that ended the reading early, if one did. */
export interface StreamLines extends LineBatches {
  /** Set when reading failed: the batches end there, and the caller reports it. */
  readonly error: Error | null;
}

const BREAK = /\r\n|\n|\r/;

/**
 * The lines of `input` (decoded as UTF-8), in batches of what each chunk brings.
 * @example
 * const lines = streamLines(createReadStream('domains.txt'));
 * for await (const batch of lines.batches) for (const line of batch) …
 * if (lines.error) throw lines.error;
 */
export function streamLines(input: Readable): StreamLines {
  const state: { error: Error | null } = { error: null };
  async function* batches(): AsyncGenerator<readonly string[], void, undefined> {
    input.setEncoding('utf8');
    let rest = '';
    try {
      for await (const chunk of input as AsyncIterable<string>) {
        let text = rest + chunk;
        // A `\r` at the end may be the first half of a `\r\n`: it waits for the next chunk.
        let held = '';
        if (text.endsWith('\r')) {
          held = '\r';
          text = text.slice(0, -1);
        }
        const lines = text.split(BREAK);
        rest = lines.pop()! + held;
        if (lines.length > 0) yield lines;
      }
    } catch (err) {
      state.error = err as Error;
      return;
    }
    if (rest !== '') yield rest.split(BREAK).filter((line, i, all) => i < all.length - 1 || line !== '');
  }
  return {
    batches: batches(),
    get error() {
      return state.error;
    },
  };
}

/** Whether `lines` comes in batches. */
export function isLineBatches(lines: unknown): lines is LineBatches {
  return typeof lines === 'object' && lines !== null && 'batches' in lines;
}
