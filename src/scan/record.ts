/**
 * @module scan/record
 * One line of `mxray scan` output: the route contract of `mxray route --json` plus where the domain came
 * from (`input`, `line`) and `error`, set when the line could not be scanned (then `outcome` is null).
 */
import type { MailRoute, RouteOutcome } from '../mx/route.js';
import { blankRoute } from '../mx/route.js';
import type { ScanInput } from './input.js';

/** The route contract, with `domain`/`outcome` null when the line could not be used. */
export type ScanRecord = Omit<MailRoute, 'domain' | 'outcome'> & {
  domain: string | null;
  outcome: RouteOutcome | null;
  /** The line as given (without its line ending). */
  input: string;
  /** Its 1-based line number in the input. */
  line: number;
  /** Why the line was not scanned, or null. */
  error: string | null;
};

/**
 * The record of a line that was not scanned (an invalid name, a look-up that threw).
 * @example errorRecord({ line: 3, input: 'a..b' }, 'invalid domain name …').outcome // null
 */
export function errorRecord(
  source: Pick<ScanInput, 'line' | 'input'> & { domain?: string | null },
  error: string,
  elapsedMs = 0,
): ScanRecord {
  return {
    ...blankRoute(''),
    domain: source.domain ?? null,
    outcome: null,
    elapsedMs,
    input: source.input,
    line: source.line,
    error,
  };
}
