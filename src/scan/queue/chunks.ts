/**
 * @module scan/queue/chunks
 * The pure bookkeeping of a distributed scan's coordinator: cutting the input's domains into chunks, and
 * tracking which lines of each chunk are still owed. A worker that dies mid-chunk leaves part of its records
 * written; BullMQ then gives the whole chunk to another worker (at-least-once), so the same line can arrive
 * twice, and a worker that only lost its lock may even finish a chunk twice. The tracker keeps the first
 * record of each line and drops the rest, so the output holds every domain exactly once.
 */
import { MxError } from '../../core/errors.js';
import type { QueueRecord } from './protocol.js';
import type { ChunkItem, ResultBatch } from './protocol.js';

/** A chunk cut from the input: its number (from 1, in input order) and its domains. */
export interface Chunk {
  chunk: number;
  items: ChunkItem[];
}

export interface Chunker {
  /** Adds a domain; returns the chunk it completes, or null. */
  push(item: ChunkItem): Chunk | null;
  /** The partial chunk left at the end of the input, or null when there is none. */
  flush(): Chunk | null;
}

/**
 * Cuts domains into chunks of `size`, numbered from 1.
 * @example
 * const chunker = createChunker(500);
 * const full = chunker.push({ line: 1, input: 'example.com', domain: 'example.com' }); // null until 500
 * const last = chunker.flush(); // the rest at the end
 */
export function createChunker(size: number): Chunker {
  if (!Number.isInteger(size) || size < 1) {
    throw new MxError('MX_INVALID_ARGUMENT', `the chunk size must be a positive integer, got ${size}`);
  }
  let items: ChunkItem[] = [];
  let next = 1;
  const cut = (): Chunk => {
    const chunk = { chunk: next++, items };
    items = [];
    return chunk;
  };
  return {
    push(item) {
      items.push(item);
      return items.length >= size ? cut() : null;
    },
    flush() {
      return items.length > 0 ? cut() : null;
    },
  };
}

/** A chunk the coordinator still waits for. */
export interface PendingChunk {
  chunk: number;
  /** Its first and last input lines. */
  first: number;
  last: number;
  domains: number;
  /** Lines not yet received. */
  owed: number;
}

/** What one result batch brought. */
export interface Accepted {
  /** Records of lines not seen before: write these. */
  fresh: QueueRecord[];
  /** Records dropped: a line already written, a chunk already finished or given up, a line not in the chunk. */
  duplicates: number;
  /** The chunk, when this batch brought its last owed line. */
  completed: PendingChunk | null;
}

interface Entry {
  info: Omit<PendingChunk, 'owed'>;
  owed: Set<number>;
}

/**
 * The chunks in flight and the lines each still owes.
 * @example
 * const tracker = new ChunkTracker();
 * tracker.add(chunk);
 * const { fresh, completed } = tracker.accept(batch); // write `fresh`; `completed` frees a slot
 */
export class ChunkTracker {
  private readonly chunks = new Map<number, Entry>();

  /** Chunks still owed. */
  get pending(): number {
    return this.chunks.size;
  }

  /** Starts waiting for a chunk's lines. */
  add(chunk: Chunk): void {
    if (this.chunks.has(chunk.chunk)) {
      throw new MxError('MX_INVALID_ARGUMENT', `chunk ${chunk.chunk} is already pending`);
    }
    const first = chunk.items[0];
    const last = chunk.items.at(-1);
    if (!first || !last) throw new MxError('MX_INVALID_ARGUMENT', `chunk ${chunk.chunk} is empty`);
    // Items are in input order, so the first and last items hold the first and last lines.
    this.chunks.set(chunk.chunk, {
      info: { chunk: chunk.chunk, first: first.line, last: last.line, domains: chunk.items.length },
      owed: new Set(chunk.items.map((i) => i.line)),
    });
  }

  /** Takes a batch of records: the fresh ones to write, duplicates counted. */
  accept(batch: Pick<ResultBatch, 'chunk' | 'records'>): Accepted {
    const entry = this.chunks.get(batch.chunk);
    if (!entry) return { fresh: [], duplicates: batch.records.length, completed: null };
    const fresh: QueueRecord[] = [];
    for (const record of batch.records) {
      if (entry.owed.delete(record.line)) fresh.push(record);
    }
    let completed: PendingChunk | null = null;
    if (entry.owed.size === 0) {
      this.chunks.delete(batch.chunk);
      completed = { ...entry.info, owed: 0 };
    }
    return { fresh, duplicates: batch.records.length - fresh.length, completed };
  }

  /** Stops waiting for a chunk (it failed, or the scan was stopped); returns it, or undefined when not pending. */
  drop(chunk: number): PendingChunk | undefined {
    const entry = this.chunks.get(chunk);
    if (!entry) return undefined;
    this.chunks.delete(chunk);
    return { ...entry.info, owed: entry.owed.size };
  }

  /** True when the chunk is still owed. */
  has(chunk: number): boolean {
    return this.chunks.has(chunk);
  }

  /** The pending chunks, in the order they were added. */
  list(): PendingChunk[] {
    return [...this.chunks.values()].map((e) => ({ ...e.info, owed: e.owed.size }));
  }
}
