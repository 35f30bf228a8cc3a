/**
 * @module scan/reader
 * The input side of a scan, shared by the local driver (scan/scan) and the distributed coordinator
 * (scan/queue/coordinator): lines numbered from 1, the ones to skip (`--resume`) passed over, blank lines,
 * comments and the CSV header dropped, each other line parsed, and the wait for the next line given up when the
 * scan is stopped.
 */
import type { InputParserOptions, ScanInput } from './input.js';
import { createInputParser } from './input.js';

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
  /** Closes the input when it was not read to its end. */
  close(): Promise<void>;
}

/**
 * Starts reading `lines`. The iterator is taken at once, before any await of the caller: a readline interface
 * drops the lines it emits before its iterator exists. Throws MxError MX_INVALID_ARGUMENT (from `next`) when the
 * CSV header lacks the column.
 */
export function createScanReader(
  lines: AsyncIterable<string> | Iterable<string>,
  options: ScanReaderOptions,
): ScanReader {
  const iterator = Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]();
  const parse = createInputParser(options.column === undefined ? {} : { column: options.column });
  let lineNo = 0;
  let ended = false;
  return {
    async next(): Promise<ScanRead> {
      for (;;) {
        const read = await nextUnlessStopped(iterator, options.signal);
        if (read === null) return { kind: 'stopped' };
        if (read.done === true) {
          ended = true;
          return { kind: 'end' };
        }
        lineNo++;
        if (options.skip?.(lineNo) === true) continue;
        const input = parse(read.value, lineNo);
        if (input !== null) return { kind: 'line', input };
      }
    },
    async close(): Promise<void> {
      if (!ended) await iterator.return?.();
    },
  };
}

/**
 * The next input line, or null when the scan is stopped while waiting for it: reading stdin from a terminal
 * can wait forever, and Ctrl-C must still end the scan. The pending read is abandoned (the iterator is closed
 * by the caller); its line was not scanned, so a resume takes it.
 */
async function nextUnlessStopped(
  iterator: AsyncIterator<string> | Iterator<string>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<string> | null> {
  const read = Promise.resolve(iterator.next());
  if (!signal) return read;
  read.catch(() => undefined); // abandoned when stopped: its failure no longer matters
  if (signal.aborted) return null;
  let onAbort = (): void => undefined;
  const stopped = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([read, stopped]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
