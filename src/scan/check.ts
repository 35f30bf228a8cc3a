/**
 * @module scan/check
 * `mxray scan --what check`: the audit of `mxray check` (check/run.ts) for every domain of a list, on the scan
 * driver. SMTP gets its own, smaller concurrency (a shared limiter), since a probe holds a connection for
 * seconds where a DNS question takes milliseconds.
 */
export type { ScanCheckRecord } from './check-record.js';
export { checkErrorRecord, routeOfCheck } from './check-record.js';
import { createLimiter } from '../core/limit.js';
import type { CheckOptions } from '../check/run.js';
import { checkDomain } from '../check/run.js';
import type { ScanCheckRecord } from './check-record.js';
import { checkErrorRecord } from './check-record.js';
import type { ScanDriverOptions } from './scan.js';
import type { ScanLines } from './reader.js';
import { scanLines } from './scan.js';

export interface ScanCheckOptions extends ScanDriverOptions {
  check: Omit<CheckOptions, 'signal' | 'smtpSlots'>;
  /** Domains talking SMTP at once at most. Default 8. */
  smtpConcurrency?: number;
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
