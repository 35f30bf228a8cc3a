/**
 * @module auth/node-resolver
 * Our resolver in the shape of node's `dns.promises.resolve(name, type)`, which is what mailauth takes as its
 * `resolver` option. Answers become node's record shapes (A/AAAA/PTR/NS/CNAME: strings, MX: `{priority,
 * exchange}`, TXT: one array of strings per record). Negative answers and failures become the errors node
 * throws, with node's codes, because mailauth decides on `err.code`: NXDOMAIN → `ENOTFOUND` and NODATA →
 * `ENODATA` (RFC 7208 §4.6.4 counts both as void lookups), SERVFAIL → `ESERVFAIL`, a timeout → `ETIMEOUT`
 * (RFC 7208 §2.6.6 temperror). The outcome rides along on the error, so no provenance is lost.
 */
import { assertNever } from '../core/errors.js';
import type { CallOptions, DnsOutcome, Resolver } from '../dns/resolver.js';
import type { RecordType } from '../dns/types.js';

/** Node's `dns.promises.resolve` signature, as mailauth calls it. */
export type NodeResolver = (name: string, type: string) => Promise<unknown[]>;

/** The error the adapter throws, shaped like node's DNS errors (`code`, `hostname`, `syscall`). */
export interface NodeDnsError extends Error {
  code: NodeDnsCode;
  hostname: string;
  syscall: string;
  /** The outcome behind the error; absent when the name could not be asked at all. */
  outcome?: DnsOutcome;
}

export type NodeDnsCode =
  'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'EREFUSED' | 'EFORMERR' | 'ENOTIMP' | 'ETIMEOUT' | 'ECONNREFUSED';

/**
 * The node error code for an outcome other than an answer.
 * @example nodeErrorCode(outcome) // 'ENOTFOUND' for NXDOMAIN, 'ENODATA' for NODATA, 'ETIMEOUT' for a timeout
 */
export function nodeErrorCode(o: Exclude<DnsOutcome, { kind: 'answer' }>): NodeDnsCode {
  switch (o.kind) {
    case 'nxdomain':
      return 'ENOTFOUND';
    case 'nodata':
      return 'ENODATA';
    case 'timeout':
      return 'ETIMEOUT';
    case 'refused':
      return 'EREFUSED';
    case 'formerr':
      return 'EFORMERR';
    case 'notimp':
      return 'ENOTIMP';
    case 'network':
      return 'ECONNREFUSED';
    // A loop, a referral from a non-recursive server, or an odd rcode: node reports all of these as a
    // server failure, and for SPF they are all a temperror (RFC 7208 §2.6.6).
    case 'servfail':
    case 'error':
    case 'cname-loop':
    case 'referral':
      return 'ESERVFAIL';
    default:
      return assertNever(o);
  }
}

function dnsError(code: NodeDnsCode, name: string, type: string, outcome?: DnsOutcome): NodeDnsError {
  const err = new Error(`query${type} ${code} ${name}`) as NodeDnsError;
  err.code = code;
  err.hostname = name;
  err.syscall = `query${type}`;
  if (outcome) err.outcome = outcome;
  return err;
}

/**
 * True when `name` can be asked at all: no empty label, labels of at most 63 octets, at most 253 octets in all
 * (RFC 1035 §2.3.4). Any other octet is allowed, as DNS allows it: SPF macros can produce names with spaces
 * or `%` (the RFC 7208 test suite has them), and such names simply do not exist.
 */
function askable(name: string): boolean {
  if (name === '' || name.length > 253) return false;
  return name.split('.').every((l) => l.length > 0 && l.length <= 63);
}

/** Converts one record's data to node's shape for the type. */
function nodeShape(type: string, data: unknown): unknown {
  switch (type) {
    case 'MX': {
      const mx = data as { preference?: number; exchange: string };
      return { priority: mx.preference ?? 0, exchange: mx.exchange };
    }
    case 'TXT': {
      const parts = Array.isArray(data) ? (data as unknown[]) : [data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p)));
    }
    case 'A':
    case 'AAAA':
    case 'PTR':
    case 'NS':
    case 'CNAME':
      return String(data);
    default:
      return data;
  }
}

/**
 * Wraps a resolver as node's `dns.promises.resolve`. Names are lowercased and lose one trailing dot; a name
 * DNS cannot carry (an empty or over-long label) is reported as `ENOTFOUND` without a query, as it cannot
 * exist.
 * @example
 * const { spf } = await import('mailauth/lib/spf/index.js');
 * await spf({ ip: '192.0.2.1', sender: 'a@example.com', resolver: toNodeResolver(resolver) });
 */
export function toNodeResolver(resolver: Resolver, call: CallOptions = {}): NodeResolver {
  return async (rawName: string, type: string): Promise<unknown[]> => {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    if (!askable(name)) throw dnsError('ENOTFOUND', name, type);
    const outcome = await resolver.resolve({ name, type: type as RecordType }, call);
    if (outcome.kind !== 'answer') throw dnsError(nodeErrorCode(outcome), name, type, outcome);
    // A CNAME chain's links are in the outcome, not the records; keep only the type asked for.
    const records = outcome.records.filter((r) => r.type === type);
    if (records.length === 0) throw dnsError('ENODATA', name, type, outcome);
    return records.map((r) => nodeShape(type, r.data));
  };
}
