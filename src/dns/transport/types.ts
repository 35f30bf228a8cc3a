/**
 * @module dns/transport/types
 * What one exchange (one query, one reply) over one transport can come to. Replies that fail validation
 * (RFC 5452 §9.1: ID, question and source must match) are dropped and listed, never accepted.
 */
import type { DnsQuestion, DnsResponse, DnsServer, Transport } from '../types.js';

export type ExchangeOutcome =
  | { kind: 'response'; response: DnsResponse; transport: Transport; elapsedMs: number; dropped: readonly string[] }
  | { kind: 'timeout'; transport: Transport; elapsedMs: number; dropped: readonly string[] }
  | { kind: 'network'; transport: Transport; error: string; elapsedMs: number; dropped: readonly string[] };

export interface ExchangeRequest {
  server: DnsServer;
  question: DnsQuestion;
  /** The query ID carried by `bytes`. */
  id: number;
  bytes: Buffer;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** The `dropped` of an exchange or outcome nothing was dropped for (nearly all): one shared list, frozen. */
export const NOTHING_DROPPED: readonly string[] = Object.freeze([]);
