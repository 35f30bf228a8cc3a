/**
 * @module cli/exit-codes
 * The one table of exit codes, keyed by outcome. Documented in the README; a public contract.
 */
import { assertNever } from '../core/errors.js';
import type { RouteOutcome } from '../mx/route.js';
import type { LookupJson } from '../report/lookup.js';

export const EXIT = {
  /** The answer is what was asked for. */
  ok: 0,
  /** A definitive negative answer: NXDOMAIN, NODATA, null MX, no mail route. */
  negative: 1,
  /** Bad usage or invalid input (an invalid name, an unknown option); nothing was sent. */
  usage: 2,
  /** The server answered with an error rcode (SERVFAIL, REFUSED, FORMERR, NOTIMP, …). */
  serverError: 3,
  /** Permanent failure of a delivery (EX_UNAVAILABLE): a 5xx to MAIL/RCPT/DATA, or a route that takes no mail. */
  unavailable: 69,
  /** Temporary failure (EX_TEMPFAIL): no reply, or a sender would retry later. */
  tempfail: 75,
  /** Interrupted by a signal (128 + SIGINT). */
  interrupted: 130,
} as const;

export function routeExitCode(outcome: RouteOutcome): number {
  switch (outcome) {
    case 'deliverable':
      return EXIT.ok;
    case 'null-mx':
    case 'no-mail-route':
    case 'no-domain':
      return EXIT.negative;
    case 'temp-failure':
      return EXIT.tempfail;
    default:
      return assertNever(outcome);
  }
}

export function lookupExitCode(result: LookupJson): number {
  if (result.rcode === null) return EXIT.tempfail;
  if (result.rcode === 'NXDOMAIN') return EXIT.negative;
  if (result.rcode !== 'NOERROR') return EXIT.serverError;
  return result.answers.length > 0 ? EXIT.ok : EXIT.negative;
}
