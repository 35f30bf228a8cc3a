/**
 * @module dns/transport/tcp
 * One query over TCP with the two-octet length prefix (RFC 1035 §4.2.2, RFC 7766). Messages may arrive in
 * any number of chunks, so frames are reassembled here. A reply that fails validation is dropped and the
 * connection read on, until the deadline.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { deadline, withAbortListener } from '../../core/signal.js';
import type { ExchangeOutcome, ExchangeRequest } from './types.js';
import { acceptReply } from './validate.js';

/** Splits a TCP byte stream into DNS messages. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns every message now complete. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Buffer[] = [];
    while (this.buffer.length >= 2) {
      const len = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + len) break;
      out.push(this.buffer.subarray(2, 2 + len));
      this.buffer = this.buffer.subarray(2 + len);
    }
    return out;
  }

  /** Octets received that do not yet form a whole message. */
  get pending(): number {
    return this.buffer.length;
  }
}

/** Prefixes a message with its length for TCP. */
export function frame(bytes: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bytes.length);
  return Buffer.concat([head, bytes]);
}

/** Sends the query over TCP and waits for a matching reply. Throws only the caller's abort reason. */
export async function exchangeTcp(req: ExchangeRequest): Promise<ExchangeOutcome> {
  req.signal?.throwIfAborted();
  const start = performance.now();
  const elapsed = () => Math.round(performance.now() - start);
  const dropped: string[] = [];
  const limit = deadline(req.signal, req.timeoutMs);
  const socket = connect({ host: req.server.host, port: req.server.port });
  const reader = new FrameReader();
  try {
    return await withAbortListener(
      limit,
      () => socket.emit('mx-abort'),
      () =>
        new Promise<ExchangeOutcome>((resolve, reject) => {
          const network = (error: string) =>
            resolve({ kind: 'network', transport: 'tcp', error, elapsedMs: elapsed(), dropped });
          socket.on('mx-abort', () => {
            if (req.signal?.aborted) reject(req.signal.reason);
            else resolve({ kind: 'timeout', transport: 'tcp', elapsedMs: elapsed(), dropped });
          });
          socket.on('error', (err) => network(err.message));
          socket.on('connect', () => socket.write(frame(req.bytes)));
          socket.on('data', (chunk: Buffer) => {
            for (const msg of reader.push(chunk)) {
              const verdict = acceptReply(msg, req.id, req.question);
              if (verdict.ok) {
                resolve({
                  kind: 'response',
                  response: verdict.response,
                  transport: 'tcp',
                  elapsedMs: elapsed(),
                  dropped,
                });
                return;
              }
              dropped.push(verdict.reason);
            }
          });
          socket.on('end', () =>
            network(
              reader.pending > 0
                ? `connection closed in the middle of a message (${reader.pending} octets pending)`
                : 'connection closed without a reply',
            ),
          );
          if (limit.aborted) socket.emit('mx-abort');
        }),
    );
  } finally {
    socket.removeAllListeners();
    socket.on('error', () => {});
    socket.destroy();
  }
}
