/**
 * @module scan/lane
 * The routes of a scan: each domain's route exactly as `resolveRoute` computes it (the same `routeFromMx`),
 * with what is known of each exchange kept once for every domain that names it. Most domains of a scan share a
 * few thousand mail hosts: the facts of a host (its addresses, or why it has none, and their warnings) are
 * worked out once per TTL, and a domain's route is its MX answer plus a table look-up per exchange. Domains
 * waiting on the same host share one look-up. The table is bounded: past `maxExchanges` the entries made first
 * go first, and the hosts still in use come back on their next look-up.
 */
import { performance } from 'node:perf_hooks';
import type { Rng } from '../core/random.js';
import { systemRng } from '../core/random.js';
import type { DnsOutcome, Resolver } from '../dns/resolver.js';
import type { ExchangeFacts, MailRoute } from '../mx/route.js';
import { askCounting, exchangeFacts, routeFromMx } from '../mx/route.js';

export interface RouteLaneOptions {
  resolver: Resolver;
  /** Randomness for shuffling equal MX preferences. */
  rng?: Rng;
  /** Exchanges whose facts are kept at most. Default 5,000. */
  maxExchanges?: number;
  /** Milliseconds of a monotonic clock (tests). Default `performance.now`. */
  now?: () => number;
}

interface Known {
  facts: ExchangeFacts;
  /** When the facts expire, on the `now` clock. */
  until: number;
}

interface Loading {
  facts: Promise<ExchangeFacts>;
  /** DNS exchanges the look-up sent, once it is done: counted by the route that started it. */
  counted: { queries: number };
}

export interface RouteLane {
  /** The route of one normalized domain; the domain's own MX question is never kept (it is asked once per scan). */
  route(domain: string): Promise<MailRoute>;
  /**
   * `route` with callbacks instead of a promise (a scan routes millions of domains): `done` gets the route, `fail`
   * what `route` would reject with; exactly one is called, never before this returns.
   */
  routeThen(domain: string, done: (route: MailRoute) => void, fail: (err: unknown) => void): void;
  /** Address answers (A and AAAA: two per exchange) taken from the kept facts, over all routes so far. */
  readonly hits: number;
}

/**
 * Creates the route function of one scan.
 * @example
 * const lane = createRouteLane({ resolver });
 * (await lane.route('example.com')).hosts[0]?.exchange // 'mail.example.com'
 */
export function createRouteLane(options: RouteLaneOptions): RouteLane {
  const resolver = options.resolver;
  const rng = options.rng ?? systemRng;
  const now = options.now ?? (() => performance.now());
  const maxExchanges = Math.max(1, options.maxExchanges ?? 5_000);
  const known = new Map<string, Known>();
  const loading = new Map<string, Loading>();

  const load = (exchange: string): Loading => {
    const job: Loading = { facts: null as unknown as Promise<ExchangeFacts>, counted: { queries: 0 } };
    job.facts = Promise.resolve(exchangeFacts(exchange, askCounting(resolver, job.counted))).then(
      (facts) => {
        loading.delete(exchange);
        if (facts.ttl > 0) {
          if (known.size >= maxExchanges) known.delete(known.keys().next().value!);
          known.set(exchange, { facts, until: now() + facts.ttl * 1000 });
        }
        return facts;
      },
      (err: unknown) => {
        loading.delete(exchange);
        throw err;
      },
    );
    loading.set(exchange, job);
    return job;
  };

  let hits = 0;
  const routeThen = (domain: string, done: (route: MailRoute) => void, fail: (err: unknown) => void): void => {
    const start = performance.now();
    const counted = { queries: 0 };
    const ask = askCounting(resolver, counted);
    const facts = (exchange: string): ExchangeFacts | Promise<ExchangeFacts> => {
      const hit = known.get(exchange);
      if (hit !== undefined) {
        if (hit.until > now()) {
          hits += 2; // its A and AAAA answers, as the resolver's cache counts them
          return hit.facts;
        }
        known.delete(exchange);
      }
      // A route that joins a look-up another started sends nothing: the look-up's queries are counted once.
      const joined = loading.get(exchange);
      if (joined) return joined.facts;
      const job = load(exchange);
      return job.facts.then((f) => {
        counted.queries += job.counted.queries;
        return f;
      });
    };
    const question = { name: domain, type: 'MX' } as const;
    const answered = (mx: DnsOutcome): void => {
      counted.queries += mx.attempts;
      let made: MailRoute | Promise<MailRoute>;
      try {
        made = routeFromMx(domain, mx, { ask, facts, rng, start, counted });
      } catch (err) {
        fail(err);
        return;
      }
      if (made instanceof Promise) made.then(done, fail);
      else done(made);
    };
    if (resolver.resolveThen) resolver.resolveThen(question, answered, fail);
    else resolver.resolve(question).then(answered, fail);
  };
  const route = (domain: string): Promise<MailRoute> =>
    new Promise((resolve, reject) => routeThen(domain, resolve, reject));
  return {
    route,
    routeThen,
    get hits() {
      return hits;
    },
  };
}
