/**
 * A fake `Resolver` for unit tests of the scan drivers (`scanDomains`, the queue worker's domain pool): it
 * answers NXDOMAIN to every question after a few turns of the event loop, counting what is in flight.
 */
import { DnsCache } from '../../src/dns/cache.js';
import type { DnsOutcome, Resolver } from '../../src/dns/resolver.js';
import type { DnsQuestion } from '../../src/dns/types.js';

/**
 * A resolver that answers NXDOMAIN after `turns(name)` turns of the event loop; `state` counts the questions
 * in flight (and the most at once) and lists the names asked, in order.
 */
export function nxdomainResolver(turns: (name: string) => number) {
  const state = { inflight: 0, maxInflight: 0, asked: [] as string[] };
  const resolver: Resolver = {
    servers: [{ host: '127.0.0.1', port: 53 }],
    cache: new DnsCache<DnsOutcome>(),
    query: () => Promise.reject(new Error('not used')),
    async resolve(question: DnsQuestion): Promise<DnsOutcome> {
      state.inflight++;
      state.maxInflight = Math.max(state.maxInflight, state.inflight);
      state.asked.push(question.name);
      for (let i = 0; i < turns(question.name); i++) await new Promise((r) => setImmediate(r));
      state.inflight--;
      return {
        kind: 'nxdomain',
        soa: null,
        question,
        cnames: [],
        cached: false,
        server: '127.0.0.1:53',
        transport: 'udp',
        attempts: 1,
        elapsedMs: 0,
        dropped: [],
      };
    },
  };
  return { resolver, state };
}
