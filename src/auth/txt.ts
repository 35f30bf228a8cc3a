/**
 * @module auth/txt
 * TXT look-ups for the policy records of SPF (RFC 7208 §4.4), DMARC (RFC 7489 §6.6.3), MTA-STS (RFC 8461
 * §3.1) and TLS-RPT (RFC 8460 §3). Each RFC says the same thing: a record's character-strings are joined with
 * no separator (RFC 7208 §3.3), records that do not start with the version tag are discarded, and zero or
 * several remaining records mean there is no usable policy. A DNS failure is not "no record": it is reported
 * as such, so a check never claims a record is missing when it could not look.
 */
import type { CallOptions, DnsOutcome, Resolver } from '../dns/resolver.js';

/** What a TXT look-up for a versioned policy record found. */
export type PolicyRecordLookup =
  /** Exactly one record starts with the version tag. `others` are the TXT records discarded beside it. */
  | { kind: 'found'; name: string; record: string; others: string[] }
  /** Several records start with the version tag: the RFCs say none of them applies. */
  | { kind: 'multiple'; name: string; records: string[] }
  /** No record starts with the version tag (`txt` holds the other TXT records, if any). */
  | { kind: 'none'; name: string; nxdomain: boolean; txt: string[] }
  /** The question failed (timeout, SERVFAIL…): nothing can be said about the record. */
  | { kind: 'failed'; name: string; outcome: Exclude<DnsOutcome, { kind: 'answer' | 'nxdomain' | 'nodata' }> };

/**
 * The TXT strings of an answer, one joined string per record (RFC 7208 §3.3, RFC 7489 §6.6.3).
 * @example txtStrings(await resolver.resolve({ name: 'example.com', type: 'TXT' })) // ['v=spf1 mx -all', …]
 */
export function txtStrings(outcome: DnsOutcome): string[] {
  if (outcome.kind !== 'answer') return [];
  return outcome.records
    .filter((r) => r.type === 'TXT')
    .map((r) => {
      const parts = Array.isArray(r.data) ? (r.data as unknown[]) : [r.data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
    });
}

/**
 * Looks up `name` TXT and selects the records for which `isVersion` holds.
 * @example
 * const r = await lookupPolicyRecord(resolver, '_dmarc.example.com', (t) => /^v=DMARC1\s*(;|$)/.test(t));
 * if (r.kind === 'found') console.log(r.record);
 */
export async function lookupPolicyRecord(
  resolver: Resolver,
  name: string,
  isVersion: (text: string) => boolean,
  call: CallOptions = {},
): Promise<PolicyRecordLookup> {
  const outcome = await resolver.resolve({ name, type: 'TXT' }, call);
  switch (outcome.kind) {
    case 'answer':
      break;
    case 'nxdomain':
    case 'nodata':
      return { kind: 'none', name, nxdomain: outcome.kind === 'nxdomain', txt: [] };
    default:
      return { kind: 'failed', name, outcome };
  }
  const all = txtStrings(outcome);
  const matching = all.filter(isVersion);
  if (matching.length === 0) return { kind: 'none', name, nxdomain: false, txt: all };
  if (matching.length > 1) return { kind: 'multiple', name, records: matching };
  return { kind: 'found', name, record: matching[0]!, others: all.filter((t) => !isVersion(t)) };
}
