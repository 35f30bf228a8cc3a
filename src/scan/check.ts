/**
 * @module scan/check
 * `mxray scan --what check`: the audit of `mxray check` (check/run.ts) for every domain of a list, on the scan
 * driver. SMTP gets its own, smaller concurrency (a shared limiter), since a probe holds a connection for
 * seconds where a DNS question takes milliseconds.
 */
import { createLimiter } from '../core/limit.js';
import type { CheckOptions, CheckReport } from '../check/run.js';
import { checkDomain } from '../check/run.js';
import type { Severity } from '../check/findings.js';
import type { MailRoute } from '../mx/route.js';
import type { ScanInput } from './input.js';
import type { ScanRecord } from './record.js';
import { errorRecord } from './record.js';
import type { ScanDriverOptions } from './scan.js';
import type { ScanLines } from './reader.js';
import { scanLines } from './scan.js';

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

export interface ScanCheckOptions extends ScanDriverOptions {
  check: Omit<CheckOptions, 'signal' | 'smtpSlots'>;
  /** Domains talking SMTP at once at most. Default 8. */
  smtpConcurrency?: number;
}

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

/**
 * Audits a stream of domains (one per line, or a CSV column), yielding one record per domain line in
 * completion order.
 * @example
 * for await (const r of scanChecks(lines, { check: { resolver, smtp: { enabled: false } }, concurrency: 16 })) …
 */
export function scanChecks(
  lines: ScanLines,
  options: ScanCheckOptions,
): AsyncGenerator<ScanCheckRecord, void, undefined> {
  const smtpSlots = createLimiter(options.smtpConcurrency ?? 8);
  return scanLines<ScanCheckRecord>(lines, options, {
    run: (domain) => checkDomain(domain, { ...options.check, smtpSlots }),
    failed: (source, error, elapsedMs) => checkErrorRecord(source, error, elapsedMs),
  });
}
