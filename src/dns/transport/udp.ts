/**
 * @module dns/transport/udp
 * One query over UDP from a fresh socket on a random source port (the OS picks an ephemeral port per socket:
 * with the random ID, the defence of RFC 5452 §9.2). The socket listens until a valid reply, the deadline or
 * the caller's abort; invalid replies are dropped and the wait goes on, so a spoofed or broken packet cannot
 * end the exchange early.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { deadline, withAbortListener } from '../../core/signal.js';
import type { ExchangeOutcome, ExchangeRequest } from './types.js';
import { acceptReply } from './validate.js';

/** Sends the query over UDP and waits for a reply that matches it. Throws only the caller's abort reason. */
export async function exchangeUdp(req: ExchangeRequest): Promise<ExchangeOutcome> {
  req.signal?.throwIfAborted();
  const start = performance.now();
  const elapsed = () => Math.round(performance.now() - start);
  const dropped: string[] = [];
  const family = isIP(req.server.host) === 6 ? 'udp6' : 'udp4';
  const socket = createSocket({ type: family });
  const limit = deadline(req.signal, req.timeoutMs);
  try {
    return await withAbortListener(
      limit,
      () => socket.emit('mx-abort'),
      () =>
        new Promise<ExchangeOutcome>((resolve, reject) => {
          socket.on('mx-abort', () => {
            if (req.signal?.aborted) reject(req.signal.reason);
            else resolve({ kind: 'timeout', transport: 'udp', elapsedMs: elapsed(), dropped });
          });
          socket.on('error', (err) =>
            resolve({ kind: 'network', transport: 'udp', error: err.message, elapsedMs: elapsed(), dropped }),
          );
          socket.on('message', (msg, rinfo) => {
            if (rinfo.address !== req.server.host || rinfo.port !== req.server.port) {
              dropped.push(`reply from an unexpected source ${rinfo.address}:${rinfo.port}`);
              return;
            }
            const verdict = acceptReply(msg, req.id, req.question);
            if (!verdict.ok) {
              dropped.push(verdict.reason);
              return;
            }
            resolve({ kind: 'response', response: verdict.response, transport: 'udp', elapsedMs: elapsed(), dropped });
          });
          if (limit.aborted) {
            socket.emit('mx-abort');
            return;
          }
          socket.send(req.bytes, req.server.port, req.server.host, (err) => {
            if (err) resolve({ kind: 'network', transport: 'udp', error: err.message, elapsedMs: elapsed(), dropped });
          });
        }),
    );
  } finally {
    socket.removeAllListeners();
    socket.on('error', () => {});
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}
