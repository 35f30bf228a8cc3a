/**
 * @module mx/failure
 * Which DNS outcomes are temporary for mail (RFC 5321 §5.1: a sender must not treat a lookup failure as
 * "no MX"; it queues and retries), and how to say what happened.
 */
import { assertNever } from '../core/errors.js';
import type { DnsOutcome } from '../dns/resolver.js';

/** True when the outcome is a failure a sender retries later rather than a definitive answer. */
export function isTemporary(o: DnsOutcome): boolean {
  switch (o.kind) {
    case 'answer':
    case 'nxdomain':
    case 'nodata':
      return false;
    case 'timeout':
    case 'network':
    case 'servfail':
    case 'refused':
    case 'formerr':
    case 'notimp':
    case 'error':
    case 'referral':
    case 'cname-loop':
      return true;
    default:
      return assertNever(o);
  }
}

/** A short phrase for a DNS outcome, naming the server. */
export function describeFailure(o: DnsOutcome): string {
  switch (o.kind) {
    case 'timeout':
      return `no reply from ${o.server} within ${o.timeoutMs} ms (${o.attempts} attempt${o.attempts === 1 ? '' : 's'})`;
    case 'network':
      return `network error talking to ${o.server}: ${o.error}`;
    case 'servfail':
    case 'refused':
    case 'formerr':
    case 'notimp':
    case 'error':
      return `${o.rcode} from ${o.server}`;
    case 'referral':
      return `${o.server} sent a referral instead of an answer (not a recursive resolver?)`;
    case 'cname-loop':
      return `the CNAME chain loops or is too long (${o.cnames.map((c) => c.name).join(' → ')})`;
    case 'answer':
      return 'answer';
    case 'nxdomain':
      return 'NXDOMAIN';
    case 'nodata':
      return 'no records of that type (NODATA)';
    default:
      return assertNever(o);
  }
}
