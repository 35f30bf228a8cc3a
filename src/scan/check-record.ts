/**
 * @module scan/check-record
 * The record of one domain of `mxray scan --what check`, apart from the audit itself (scan/check.ts), so that
 * what only handles records (the queue's coordinator) does not load the audit's libraries.
 */
import type { CheckReport } from '../check/run.js';
import type { Severity } from '../check/findings.js';
import type { MailRoute } from '../mx/route.js';
import type { ScanInput } from './input.js';
import type { ScanRecord } from './record.js';
import { errorRecord } from './record.js';

/**
 * One line of `mxray scan --what check` output: the `mxray check --json` contract plus where the domain came
 * from (`input`, `line`) and `error`, set when the line could not be checked (then `route` is null).
 */
export type ScanCheckRecord = Omit<CheckReport, 'domain' | 'route' | 'checkedAt'> & {
  domain: string | null;
  route: MailRoute | null;
  checkedAt: string | null;
  input: string;
  line: number;
  error: string | null;
};

/** The record of a line that was not checked. */
export function checkErrorRecord(
  source: Pick<ScanInput, 'line' | 'input' | 'domain'>,
  error: string,
  elapsedMs = 0,
): ScanCheckRecord {
  return {
    domain: source.domain ?? null,
    route: null,
    findings: [],
    summary: { error: 0, warning: 0, info: 0 } satisfies Record<Severity, number>,
    sections: {},
    errors: [],
    checkedAt: null,
    elapsedMs,
    input: source.input,
    line: source.line,
    error,
  };
}

/**
 * The route part of a check record in the shape of a route scan record, for the scan summary.
 * @example summary.add(routeOfCheck(record))
 */
export function routeOfCheck(record: ScanCheckRecord): ScanRecord {
  if (record.route === null || record.error !== null)
    return errorRecord(record, record.error ?? 'not checked', record.elapsedMs);
  return { ...record.route, elapsedMs: record.elapsedMs, input: record.input, line: record.line, error: null };
}
