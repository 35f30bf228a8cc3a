/**
 * @module mxray/testing
 * The harness mxray's own tests use, for users' tests too: a lab on loopback, a resolver pointed at it,
 * a fake clock and seeded randomness.
 */
import { createResolver } from '../dns/resolver.js';
import type { Resolver, ResolverOptions } from '../dns/resolver.js';
import type { Lab } from '../lab/index.js';

export { fakeClock } from '../core/clock.js';
export type { FakeClock } from '../core/clock.js';
export { seededRng } from '../core/random.js';
export { startLab } from '../lab/index.js';
export type { Lab } from '../lab/index.js';

/**
 * A resolver that asks the lab's authoritative server directly (RD clear, short timeouts).
 * @example
 * const lab = await startLab({ zones: ['examples/zones'] });
 * const route = await resolveRoute('example.com', { resolver: labResolver(lab) });
 */
export function labResolver(lab: Lab, options: Partial<Omit<ResolverOptions, 'servers'>> = {}): Resolver {
  return createResolver({ servers: [lab.dns], timeoutMs: 1000, attempts: 2, recursionDesired: false, ...options });
}
