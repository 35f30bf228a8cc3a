/**
 * @module dns/transport/validate
 * Reply validation shared by the UDP and TCP transports (RFC 5452 §9.1; RFC 1035 §7.3).
 */
import { isMxError } from '../../core/errors.js';
import { decodeResponse, matchesQuestion, peekId } from '../message.js';
import type { DnsQuestion, DnsResponse } from '../types.js';

/** Decodes and checks a reply: a response, or the reason it was dropped. */
export function acceptReply(
  bytes: Buffer,
  id: number,
  question: DnsQuestion,
): { ok: true; response: DnsResponse } | { ok: false; reason: string } {
  const got = peekId(bytes);
  if (got === null) return { ok: false, reason: `runt message of ${bytes.length} octet(s)` };
  if (got !== id) return { ok: false, reason: `reply with the wrong ID ${got} (expected ${id})` };
  let response: DnsResponse;
  try {
    response = decodeResponse(bytes);
  } catch (err) {
    if (isMxError(err, 'MX_DNS_BAD_WIRE')) return { ok: false, reason: err.message };
    throw err;
  }
  if (!matchesQuestion(response, question)) {
    return {
      ok: false,
      reason: `reply for another question (${response.question.name || '.'} ${response.question.type})`,
    };
  }
  return { ok: true, response };
}
