/**
 * @module auth/memory-resolver
 * A resolver over records held in memory, for unit tests of policy logic and for spec suites that ARE zone
 * data (the RFC 7208 test suite's `zonedata`). It answers as an authoritative server would (RFC 1034 §4.3.2,
 * RFC 2308): a name it does not hold is NXDOMAIN, a name without records of the type asked is NODATA. A
 * `timeout` or `servfail` entry stands for a failing server: it answers with the records of the asked type
 * listed before it, and fails otherwise (the semantics of the RFC 7208 suite's `TIMEOUT`). Every question is
 * kept in `calls`, so tests can assert the query sequence. Lab-backed tests use the real lab instead.
 */
import { DnsCache } from '../dns/cache.js';
import type { CallOptions, DnsOutcome, QueryOutcome, Resolver } from '../dns/resolver.js';
import type { DnsQuestion, RecordType } from '../dns/types.js';

export type MemoryEntry = { type: RecordType; data: unknown; ttl?: number } | 'timeout' | 'servfail';

export interface MemoryResolver extends Resolver {
  /** Every question asked, in order. */
  readonly calls: DnsQuestion[];
}

/**
 * Builds a resolver from `{ name: entries }` (names matched case-insensitively, without a trailing dot).
 * @example
 * const r = memoryResolver({ 'example.com': [{ type: 'TXT', data: ['v=spf1 -all'] }], 'slow.example': ['timeout'] });
 * (await r.resolve({ name: 'example.com', type: 'TXT' })).kind // 'answer'
 */
export function memoryResolver(zone: Readonly<Record<string, readonly MemoryEntry[]>>): MemoryResolver {
  const names = new Map<string, readonly MemoryEntry[]>();
  for (const [name, entries] of Object.entries(zone)) names.set(canonical(name), entries);
  const calls: DnsQuestion[] = [];
  const provenance = { server: 'memory', transport: 'udp' as const, attempts: 1, elapsedMs: 0, dropped: [] };

  function resolveNow(question: DnsQuestion): DnsOutcome {
    const base = { ...provenance, question, cnames: [], cached: false };
    const entries = names.get(canonical(question.name));
    if (!entries) return { ...base, kind: 'nxdomain', soa: null };
    const records = [];
    for (const e of entries) {
      if (e === 'timeout' || e === 'servfail') {
        if (records.length > 0) break;
        return e === 'timeout'
          ? { ...base, kind: 'timeout', timeoutMs: 0 }
          : { ...base, kind: 'servfail', rcode: 'SERVFAIL' };
      }
      if (e.type === question.type) {
        records.push({
          name: canonical(question.name),
          type: e.type,
          class: 'IN' as const,
          ttl: e.ttl ?? 300,
          data: e.data,
        });
      }
    }
    if (records.length === 0) return { ...base, kind: 'nodata', soa: null };
    return { ...base, kind: 'answer', records, authenticated: false };
  }

  return {
    servers: [{ host: 'memory', port: 0 }],
    cache: new DnsCache<DnsOutcome>(),
    calls,
    resolve(question: DnsQuestion, call: CallOptions = {}): Promise<DnsOutcome> {
      call.signal?.throwIfAborted();
      calls.push(question);
      return Promise.resolve(resolveNow(question));
    },
    query(question: DnsQuestion, call: CallOptions = {}): Promise<QueryOutcome> {
      call.signal?.throwIfAborted();
      calls.push(question);
      return Promise.resolve({ ...provenance, kind: 'network', error: 'the memory resolver only resolves' });
    },
  };
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
