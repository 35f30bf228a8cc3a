/**
 * @module lab/faults
 * How a lab receiver misbehaves, as data: set at start (`--fault HOST=KIND`) and changed while it runs.
 */
import { MxError } from '../core/errors.js';

/**
 * - `none`: a well-behaved MTA.
 * - `down`: nothing listens; connections are refused.
 * - `tempfail`: the greeting is `421` (RFC 5321 §3.8: service not available, try later).
 * - `reject`: every recipient gets `550 5.1.1` (permanent).
 * - `slow`: the greeting and every hooked reply wait `slowMs` first.
 * - `silent`: the connection is accepted and nothing is ever said.
 */
export const FAULTS = ['none', 'down', 'tempfail', 'reject', 'slow', 'silent'] as const;
export type Fault = (typeof FAULTS)[number];

export function parseFault(text: string): Fault {
  const f = text.trim().toLowerCase();
  if ((FAULTS as readonly string[]).includes(f)) return f as Fault;
  throw new MxError('MX_INVALID_ARGUMENT', `unknown fault ${JSON.stringify(text)} (known: ${FAULTS.join(', ')})`);
}

/** Parses `HOST=KIND`. */
export function parseFaultAssignment(text: string): { host: string; fault: Fault } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new MxError('MX_INVALID_ARGUMENT', `a fault is written HOST=KIND, got ${JSON.stringify(text)}`);
  return { host: text.slice(0, eq).trim().toLowerCase().replace(/\.$/, ''), fault: parseFault(text.slice(eq + 1)) };
}
