/**
 * @module scan/resolver
 * The resolver a scan runs on: one per process, with one bounded cache so the mail hosts shared by many
 * domains are asked once, however many domains pass through.
 */
import { DnsCache } from '../dns/cache.js';
import type { DnsOutcome, Resolver } from '../dns/resolver.js';
import { createResolver } from '../dns/resolver.js';
import type { UdpPool } from '../dns/transport/pool.js';
import type { DnsServer } from '../dns/types.js';

/** DNS outcomes kept by the shared cache: room for the MX sets in flight and a few thousand mail hosts. */
export const SCAN_CACHE_ENTRIES = 50_000;

export interface ScanResolverOptions {
  servers: readonly DnsServer[];
  /** Time allowed for one attempt. Default 2000 ms. */
  timeoutMs?: number;
  /** Attempts per question. Default 3. */
  attempts?: number;
  /** TCP only. */
  tcp?: boolean;
  /** The shared UDP sockets (the caller closes them). */
  udp?: UdpPool;
}

/** Creates the resolver of one scanning process (the `scan` command or a queue worker). */
export function createScanResolver(options: ScanResolverOptions): Resolver {
  return createResolver({
    servers: [...options.servers],
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.tcp ? { tcp: true } : {}),
    ...(options.udp ? { udp: options.udp } : {}),
    cache: new DnsCache<DnsOutcome>({ maxEntries: SCAN_CACHE_ENTRIES }),
    // Each domain's MX answer is its own; exchange addresses (and CNAMEs) are what domains share.
    cacheable: (question) => question.type !== 'MX',
    // With several resolvers, a slow or failing one gets fewer questions.
    balance: 'health',
  });
}
