/**
 * @module dns/classify
 * Turns one response into an outcome a caller can switch on — no I/O (the resolver drives the queries).
 * RFC 1034 §3.6.2 and §4.3.2: an answer may hold a CNAME chain that starts at the question's name; the
 * records of the asked type sit at the chain's end. RFC 2308 §2: NXDOMAIN and NODATA carry the zone's SOA
 * in the authority section; its TTL and MINIMUM bound how long the negative answer may be kept.
 */
import type { DnsRecord, DnsResponse, RecordType } from './types.js';

/** One hop of a CNAME chain. */
export interface CnameLink {
  name: string;
  target: string;
  ttl: number;
}

/** No names visited yet (the default of `classifyResponse`: one set for every call). */
const NO_NAMES: ReadonlySet<string> = new Set();

/** Most CNAME hops followed before giving up (BIND and Unbound use limits of 8–16). */
export const MAX_CNAME_HOPS = 12;

export type Classified =
  | { kind: 'answer'; records: DnsRecord[]; cnames: CnameLink[] }
  | { kind: 'nxdomain'; soa: DnsRecord | null; cnames: CnameLink[] }
  | { kind: 'nodata'; soa: DnsRecord | null; cnames: CnameLink[] }
  /** The chain leaves what this response covers: ask again for `target`. */
  | { kind: 'follow'; target: string; cnames: CnameLink[] }
  | { kind: 'cname-loop'; cnames: CnameLink[] }
  /** A non-recursive server sent a delegation instead of an answer (no AA, NS in authority). */
  | { kind: 'referral'; nameservers: string[] }
  | { kind: 'servfail' | 'refused' | 'formerr' | 'notimp' | 'error'; rcode: string };

/**
 * The records of `answers` with this owner and type: `answers` itself when they all are (nearly every answer: a
 * scan classifies millions), else a new array of those that are. Read-only either way.
 */
function ofNameAndType(answers: DnsRecord[], name: string, type: RecordType): DnsRecord[] {
  for (const r of answers) {
    if (r.name !== name || r.type !== type) return answers.filter((x) => x.name === name && x.type === type);
  }
  return answers;
}

/**
 * Classifies `response` for the question (`name`, `type`), following the CNAME chain inside the answer.
 * `seen` holds names already visited by earlier responses of the same resolution, for loop detection.
 */
export function classifyResponse(
  response: DnsResponse,
  name: string,
  type: RecordType,
  seen: ReadonlySet<string> = NO_NAMES,
): Classified {
  switch (response.rcode) {
    case 'NOERROR':
    case 'NXDOMAIN':
      break;
    case 'SERVFAIL':
      return { kind: 'servfail', rcode: response.rcode };
    case 'REFUSED':
      return { kind: 'refused', rcode: response.rcode };
    case 'FORMERR':
      return { kind: 'formerr', rcode: response.rcode };
    case 'NOTIMP':
      return { kind: 'notimp', rcode: response.rcode };
    default:
      return { kind: 'error', rcode: response.rcode };
  }

  const cnames: CnameLink[] = [];
  // Made on the first CNAME: most answers have none.
  let visited: Set<string> | null = null;
  let current = name;
  for (;;) {
    const records = ofNameAndType(response.answers, current, type);
    if (records.length > 0 && response.rcode === 'NOERROR') return { kind: 'answer', records, cnames };
    const cname = type === 'CNAME' ? undefined : response.answers.find((r) => r.name === current && r.type === 'CNAME');
    if (!cname) break;
    const target = String(cname.data);
    cnames.push({ name: current, target, ttl: cname.ttl });
    visited ??= new Set([...seen, name]);
    if (visited.has(target) || cnames.length + seen.size > MAX_CNAME_HOPS) return { kind: 'cname-loop', cnames };
    visited.add(target);
    current = target;
  }

  const soa = response.authority.find((r) => r.type === 'SOA') ?? null;
  if (response.rcode === 'NXDOMAIN') return { kind: 'nxdomain', soa, cnames };
  if (cnames.length > 0 && !soa) return { kind: 'follow', target: current, cnames };
  const ns = response.authority.filter((r) => r.type === 'NS');
  if (!soa && !response.flags.aa && ns.length > 0 && response.answers.length === 0) {
    return { kind: 'referral', nameservers: ns.map((r) => String(r.data)) };
  }
  return { kind: 'nodata', soa, cnames };
}

/** How long a negative answer may be cached (RFC 2308 §5): min(SOA TTL, SOA MINIMUM), 0 without SOA. */
export function negativeTtl(soa: DnsRecord | null): number {
  if (!soa) return 0;
  const minimum = (soa.data as { minimum?: number }).minimum ?? 0;
  return Math.min(soa.ttl, minimum);
}
