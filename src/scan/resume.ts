/**
 * @module scan/resume
 * The resume index of an interrupted scan: which input lines its JSONL output already holds. A scan killed
 * mid-write leaves a torn last line (no newline); it is cut away and that domain is scanned again, so no
 * domain is lost and none is written twice. The output is read in chunks and the line numbers kept as a
 * bitmap (one bit per input line), so resuming a scan of millions of domains stays within a few megabytes.
 */

/**
 * Input line numbers (1-based), one bit each.
 * @example const set = new LineSet(); set.add(3); set.has(3) // true
 */
export class LineSet {
  private bits = new Uint8Array(1024);
  size = 0;

  add(line: number): void {
    if (!Number.isInteger(line) || line < 1) return;
    const byte = line >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (line & 7);
    if ((this.bits[byte]! & mask) === 0) {
      this.bits[byte]! |= mask;
      this.size++;
    }
  }

  has(line: number): boolean {
    const byte = line >>> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (line & 7))) !== 0;
  }

  /** The lines, ascending. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let byte = 0; byte < this.bits.length; byte++) {
      const b = this.bits[byte]!;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((b & (1 << bit)) !== 0) yield byte * 8 + bit;
    }
  }
}

export interface ResumeIndex {
  /** Input line numbers already written. */
  done: LineSet;
  /** Bytes of the output that hold whole records; truncate the file to this length before appending. */
  validBytes: number;
  /** True when a torn last line was found (and must be truncated away). */
  torn: boolean;
}

export interface ResumeIndexer {
  /** Feeds the next chunk of the output file. */
  push(chunk: Uint8Array): void;
  /** The index, once the whole file was fed. */
  finish(): ResumeIndex;
}

/**
 * An incremental reader of a scan's JSONL output. Only whole lines (ending in a newline) whose JSON has an
 * integer `line` count; a whole line that is not JSON was not written by a scan and is kept and ignored.
 * @example
 * const indexer = createResumeIndexer();
 * for await (const chunk of createReadStream(out)) indexer.push(chunk);
 * const { done, validBytes, torn } = indexer.finish();
 */
export function createResumeIndexer(): ResumeIndexer {
  const done = new LineSet();
  let carry: Buffer = Buffer.alloc(0);
  let validBytes = 0;

  function addLine(bytes: Buffer): void {
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    try {
      const record = JSON.parse(text) as { line?: unknown };
      if (typeof record.line === 'number') done.add(record.line);
    } catch {
      // Not a scan record; see above.
    }
  }

  return {
    push(chunk) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
        addLine(buf.subarray(start, nl));
        validBytes += nl + 1 - start;
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    },
    finish() {
      return { done, validBytes, torn: carry.length > 0 };
    },
  };
}

/**
 * Indexes a whole output held in memory (see `createResumeIndexer` for files).
 * @example
 * indexScanOutput(Buffer.from('{"line":1}\n{"line":2}\n{"li'))
 * // { done: LineSet {1, 2}, validBytes: 22, torn: true }
 */
export function indexScanOutput(bytes: Uint8Array): ResumeIndex {
  const indexer = createResumeIndexer();
  indexer.push(bytes);
  return indexer.finish();
}
