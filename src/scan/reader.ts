/**
 * @module scan/reader
 * The input side of a scan, shared by the local driver (scan/scan) and the distributed coordinator
 * (scan/queue/coordinator): lines numbered from 1, the ones to skip (`--resume`) passed over, blank lines,
 * comments and the CSV header dropped, each other line parsed, and the wait for the next line given up when the
 * scan is stopped.
 */
import type { InputParserOptions, ScanInput } from './input.js';
import { createInputParser } from './input.js';
import type { LineBatches } from './lines.js';
import { isLineBatches } from './lines.js';

export interface ScanReaderOptions extends InputParserOptions {
  /** Input lines (1-based) to pass over. */
  skip?: ((line: number) => boolean) | undefined;
  /** Stops waiting for input: `next` then says `stopped`. */
  signal?: AbortSignal | undefined;
}

/** What the next read brought: a parsed line (a domain, or an invalid line with its error), the end, or a stop. */
export type ScanRead = { kind: 'line'; input: ScanInput } | { kind: 'end' } | { kind: 'stopped' };

export interface ScanReader {
  next(): Promise<ScanRead>;
  /** The next read when it is at hand without waiting (a line of the batch read last, or of a plain iterable), else null. */
  take(): ScanRead | null;
  /** Closes the input when it was not read to its end. */
  close(): Promise<void>;
}

/** What a scan reads: lines one by one (any iterable), or in batches (`streamLines`). */
export type ScanLines = AsyncIterable<string> | Iterable<string> | LineBatches;

/**
 * Starts reading `lines`. The iterator is taken at once, before any await of the caller: a readline interface
 * drops the lines it emits before its iterator exists. Throws MxError MX_INVALID_ARGUMENT (from `next`) when the
 * CSV header lacks the column.
 */
export function createScanReader(lines: ScanLines, options: ScanReaderOptions): ScanReader {
  // Batches as they come; an async iterable of lines, a line per batch; an iterable, read at once (take).
  const batched = isLineBatches(lines);
  const source: AsyncIterator<readonly string[] | string> | null = batched
    ? lines.batches[Symbol.asyncIterator]()
    : Symbol.asyncIterator in lines
      ? lines[Symbol.asyncIterator]()
      : null;
  const sync: Iterator<string> | null = source ? null : (lines as Iterable<string>)[Symbol.iterator]();
  const parse = createInputParser(options.column === undefined ? {} : { column: options.column });
  const signal = options.signal;
  let lineNo = 0;
  let ended = false;
  let batch: readonly string[] = [];
  let at = 0;
  // Whether a read of the source is pending (see close).
  let reading = false;
  // One abort listener for the whole input, not one per line: it ends the read being waited for, if any.
  let giveUp: (() => void) | null = null;
  const onAbort = (): void => giveUp?.();
  signal?.addEventListener('abort', onAbort, { once: true });

  /** The next line of the batch at hand (or of the plain iterable), parsed; null when a read must be awaited. */
  const take = (): ScanRead | null => {
    for (;;) {
      if (ended) return { kind: 'end' };
      if (signal?.aborted) return { kind: 'stopped' };
      let text: string;
      if (at < batch.length) text = batch[at++]!;
      else if (sync) {
        const read = sync.next();
        if (read.done === true) {
          ended = true;
          return { kind: 'end' };
        }
        text = read.value;
      } else return null;
      lineNo++;
      if (options.skip?.(lineNo) === true) continue;
      const input = parse(text, lineNo);
      if (input !== null) return { kind: 'line', input };
    }
  };

  return {
    take,
    async next(): Promise<ScanRead> {
      for (;;) {
        const ready = take();
        if (ready) return ready;
        const read = await nextUnlessStopped(source!);
        if (read === null) return { kind: 'stopped' };
        if (read.done === true) {
          ended = true;
          return { kind: 'end' };
        }
        batch = typeof read.value === 'string' ? [read.value] : read.value;
        at = 0;
      }
    },
    async close(): Promise<void> {
      signal?.removeEventListener('abort', onAbort);
      if (ended) return;
      ended = true;
      // Batches from a stream stop at once; an iterator is asked to return, without waiting while a read it
      // was given is still pending (an async generator answers only after that read, which may never come).
      if (batched && lines.close) lines.close();
      else if (reading) void Promise.resolve(source?.return?.()).catch(() => undefined);
      else await (source ?? sync)?.return?.();
    },
  };

  /**
   * The next input line, or null when the scan is stopped while waiting for it: reading stdin from a terminal
   * can wait forever, and Ctrl-C must still end the scan. The pending read is abandoned (the iterator is closed
   * by the caller); its line was not scanned, so a resume takes it.
   */
  function nextUnlessStopped<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T> | null> {
    reading = true;
    const read = Promise.resolve(iterator.next());
    read.then(
      () => (reading = false),
      () => (reading = false),
    );
    if (!signal) return read;
    if (signal.aborted) {
      read.catch(() => undefined); // abandoned: its failure no longer matters
      return Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      giveUp = () => {
        read.catch(() => undefined);
        resolve(null);
      };
      read.then(
        (value) => {
          giveUp = null;
          resolve(value);
        },
        (err: unknown) => {
          giveUp = null;
          reject(err);
        },
      );
    });
  }
}
