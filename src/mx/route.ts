/**
 * @module mx/route
 * A domain's mail route, exactly as a sending server computes it:
 * - RFC 5321 §5.1: MX records by preference, equal preferences in random order, the implicit MX (the domain
 *   itself at preference 0) when there is no MX but an address, local-host pruning, every exchange's addresses;
 *   a temporary DNS failure means "try later", never "no MX".
 * - RFC 7505: a lone MX `0 .` (null MX) means the domain accepts no mail.
 * - RFC 2181 §10.3: an exchange must not be a CNAME (followed, with a warning); RFC 5321 §5.1 / RFC 7505 §3:
 *   an exchange must be a name, not an address literal.
 */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Rng } from '../core/random.js';
import { seededRng, shuffleRange, systemRng } from '../core/random.js';
import { normalizeName } from '../dns/name.js';
import type { CallOptions, DnsOutcome, Resolver } from '../dns/resolver.js';
import { cacheTtl } from '../dns/resolver.js';
import { describeFailure, isTemporary } from './failure.js';

export type RouteOutcome = 'deliverable' | 'null-mx' | 'no-mail-route' | 'no-domain' | 'temp-failure';

/** One exchange in attempt order. */
export interface RouteHost {
  /** Lowercase A-label name, no trailing dot. */
  exchange: string;
  preference: number;
  /** Every address a sender would try, IPv6 first (RFC 6724 default policy), then IPv4. */
  addresses: string[];
  ipv4: string[];
  ipv6: string[];
  /** The canonical name when the exchange is a CNAME (RFC 2181 §10.3 violation), else null. */
  canonical: string | null;
  /** Why the host has no addresses, or null. */
  error: string | null;
}

/** The route contract of `mxray route --json` (stable: fields are only ever added). */
export interface MailRoute {
  domain: string;
  outcome: RouteOutcome;
  implicit: boolean;
  hosts: RouteHost[];
  warnings: string[];
  /** For outcomes other than `deliverable`: what was found, in words. */
  reason: string | null;
  /** TTL of the MX RRset (or of the addresses for an implicit MX), null when none. */
  ttl: number | null;
  /** The canonical name when the domain itself is a CNAME. */
  canonical: string | null;
  /** Local-host pruning (RFC 5321 §5.1) when `as` matched an exchange. */
  pruned: { matched: string; preference: number; dropped: string[] } | null;
  /** DNS exchanges sent for this route (cache hits are free). */
  queries: number;
  elapsedMs: number;
}

export interface RouteOptions extends CallOptions {
  resolver: Resolver;
  /** Randomness for shuffling equal preferences. */
  rng?: Rng;
  /** Shortcut for `rng: seededRng(seed)`: the same seed gives the same order. */
  seed?: number;
  /** Names and addresses the sender is known by, for local-host pruning. */
  as?: readonly string[];
}

interface MxEntry {
  preference: number;
  exchange: string;
}

/**
 * Resolves a domain's mail route.
 * @example
 * const route = await resolveRoute('example.com', { resolver, seed: 1 });
 * route.outcome // 'deliverable'
 * route.hosts.map((h) => `${h.preference} ${h.exchange}`) // ['10 mail1.example.com', …]
 */
export async function resolveRoute(input: string, options: RouteOptions): Promise<MailRoute> {
  options.signal?.throwIfAborted();
  const start = performance.now();
  const domain = normalizeName(input);
  const resolver = options.resolver;
  const call: CallOptions = { signal: options.signal };
  const counted = { queries: 0 };
  const ask = askCounting(resolver, counted, call);
  const mx = await ask(domain, 'MX');
  return routeFromMx(domain, mx, {
    ask,
    facts: (exchange) => exchangeFacts(exchange, ask),
    rng: options.rng ?? (options.seed !== undefined ? seededRng(options.seed) : systemRng),
    as: options.as,
    start,
    counted,
  });
}

/** How `routeFromMx` learns what it needs beyond the MX answer. */
export interface RouteSources {
  /** Asks a question (for an implicit MX: the domain's A and AAAA). */
  ask: Ask;
  /** What is known of an exchange (its addresses, or why it has none). */
  facts: (exchange: string) => ExchangeFacts | Promise<ExchangeFacts>;
  rng: Rng;
  as?: readonly string[] | undefined;
  /** When the route began (`performance.now()`), for `elapsedMs`. */
  start: number;
  /** DNS exchanges sent so far for this route, counted on by `ask` and `facts`. */
  counted: { queries: number };
}

/** Completes a route: its query count and time. */
function finish(route: MailRoute, sources: RouteSources): MailRoute {
  route.queries = sources.counted.queries;
  route.elapsedMs = Math.round(performance.now() - sources.start);
  return route;
}

/** Completes a route that ends in `outcome` for `reason`. */
function fail(route: MailRoute, sources: RouteSources, outcome: RouteOutcome, reason: string): MailRoute {
  route.outcome = outcome;
  route.reason = reason;
  return finish(route, sources);
}

/**
 * The route of `domain` from the outcome of its MX question: RFC 5321 §5.1 and RFC 7505 applied to it, the
 * exchanges' facts gathered. `resolveRoute` is this after asking; a scan asks its own way and calls it too.
 * The route comes at once when every fact is known already (most domains of a scan), else as a promise.
 */
export function routeFromMx(domain: string, mx: DnsOutcome, sources: RouteSources): MailRoute | Promise<MailRoute> {
  const route = blankRoute(domain);
  const last = mx.cnames.at(-1);
  if (last) {
    route.canonical = last.target;
    route.warnings.push(`${domain} is a CNAME for ${last.target}; its MX records are used (RFC 5321 §5.1)`);
  }
  const target = route.canonical ?? domain;

  switch (mx.kind) {
    case 'answer':
      break;
    case 'nxdomain':
      return fail(route, sources, 'no-domain', `${target} does not exist (NXDOMAIN from ${mx.server})`);
    case 'nodata':
      return implicitRoute(target, route, sources.ask).then(() => finish(route, sources));
    default:
      return fail(
        route,
        sources,
        'temp-failure',
        `the MX question failed: ${describeFailure(mx)}; a sender would retry later`,
      );
  }

  let ttl = Infinity;
  // Arrays made at their size here and below (a route has a few records; an empty array that grows takes room
  // for sixteen, and a scan makes millions of them).
  const entries: MxEntry[] = new Array<MxEntry>(mx.records.length);
  let kept = 0;
  let nulls = 0;
  let nullPreference = 0;
  for (const r of mx.records) {
    if (r.ttl < ttl) ttl = r.ttl;
    const d = r.data as { preference?: number; exchange: string };
    // RFC 7505 §3: a null MX is the only MX record; `0 .` beside others is a configuration error.
    if (d.exchange === '') {
      nulls++;
      nullPreference = Math.max(nullPreference, d.preference ?? 0);
    } else entries[kept++] = { preference: d.preference ?? 0, exchange: d.exchange };
  }
  entries.length = kept;
  route.ttl = ttl;
  if (nulls > 0 && entries.length === 0) {
    if (nullPreference !== 0) route.warnings.push('the null MX has a preference other than 0 (RFC 7505 §3 says 0)');
    return fail(route, sources, 'null-mx', `${target} publishes a null MX (RFC 7505): it accepts no mail`);
  }
  if (nulls > 0) {
    route.warnings.push(
      `a null MX ("." exchange) stands beside ${entries.length} other MX record(s); RFC 7505 §3 forbids this, and the "." entry is ignored`,
    );
  }

  const ordered = orderExchanges(entries, sources.rng, route.warnings);
  // Exchanges already known (most of them in a scan) are done at once: no round of promises. Their warnings
  // follow in the order of the hosts, however the look-ups finish.
  let waits = false;
  const facts = new Array<ExchangeFacts | Promise<ExchangeFacts>>(ordered.length);
  for (let i = 0; i < ordered.length; i++) {
    const e = ordered[i]!;
    const f = isAddressLiteral(e.exchange) ? literalFacts(e) : sources.facts(e.exchange);
    if (f instanceof Promise) waits = true;
    facts[i] = f;
  }
  if (waits) {
    return Promise.all(facts.map((f) => Promise.resolve(f))).then((known) =>
      completeRoute(route, sources, target, ordered, known),
    );
  }
  return completeRoute(route, sources, target, ordered, facts as ExchangeFacts[]);
}

/** The hosts of a route from its ordered exchanges and their facts; pruning (`as`); the outcome. */
function completeRoute(
  route: MailRoute,
  sources: RouteSources,
  target: string,
  ordered: readonly MxEntry[],
  known: readonly ExchangeFacts[],
): MailRoute {
  const hosts = new Array<RouteHost>(ordered.length);
  for (let i = 0; i < ordered.length; i++) {
    const f = known[i]!;
    hosts[i] = {
      exchange: f.exchange,
      preference: ordered[i]!.preference,
      addresses: f.addresses,
      ipv4: f.ipv4,
      ipv6: f.ipv6,
      canonical: f.canonical,
      error: f.error,
    };
    for (const w of f.warnings) route.warnings.push(w);
  }
  route.hosts = hosts;

  if (sources.as && sources.as.length > 0) {
    const pruned = pruneLocal(route.hosts, sources.as);
    if (pruned) {
      route.pruned = pruned.info;
      route.hosts = pruned.hosts;
      if (route.hosts.length === 0) {
        return fail(
          route,
          sources,
          'no-mail-route',
          `the sender (${pruned.info.matched}) is the best MX for ${target} (preference ${pruned.info.preference}): ` +
            'RFC 5321 §5.1 leaves no host to send to, so the mail would loop; this is a configuration error',
        );
      }
    }
  }

  let reachable = false;
  let temporary = false;
  for (const h of route.hosts) {
    if (h.addresses.length > 0) reachable = true;
    else if (h.error?.startsWith('temporary')) temporary = true;
  }
  if (!reachable) {
    return fail(
      route,
      sources,
      temporary ? 'temp-failure' : 'no-mail-route',
      temporary
        ? 'no exchange has an address yet and some address look-ups failed temporarily; a sender would retry later'
        : 'no exchange has an address: a sender has nowhere to connect',
    );
  }
  return finish(route, sources);
}

/** A route with nothing found yet (outcome `deliverable` until something says otherwise). */
export function blankRoute(domain: string): MailRoute {
  return {
    domain,
    outcome: 'deliverable',
    implicit: false,
    hosts: [],
    warnings: [],
    reason: null,
    ttl: null,
    canonical: null,
    pruned: null,
    queries: 0,
    elapsedMs: 0,
  };
}

/**
 * Sorts by preference, keeps an exchange listed twice once at its best preference, and shuffles each group of
 * equal preference (RFC 5321 §5.1: "the sender-SMTP MUST randomize them to spread the load").
 */
export function orderExchanges(entries: readonly MxEntry[], rng: Rng, warnings: string[] = []): MxEntry[] {
  if (entries.length === 1) return [entries[0]!];
  // The best entry per exchange, in the order exchanges first appear (a scan orders millions of short lists:
  // an array searched in place, with a map only for long ones).
  const best = new Array<MxEntry>(entries.length);
  let count = 0;
  const at = entries.length > 16 ? new Map<string, number>() : null;
  for (const e of entries) {
    let i = -1;
    if (at) i = at.get(e.exchange) ?? -1;
    else for (let j = 0; j < count && i < 0; j++) if (best[j]!.exchange === e.exchange) i = j;
    if (i < 0) {
      at?.set(e.exchange, count);
      best[count++] = e;
      continue;
    }
    const seen = best[i]!;
    const keep = e.preference < seen.preference ? e : seen;
    warnings.push(
      `${e.exchange} is listed more than once (preferences ${Math.min(seen.preference, e.preference)} and ${Math.max(seen.preference, e.preference)}); it is tried once, at ${keep.preference}`,
    );
    best[i] = keep;
  }
  best.length = count;
  // A stable sort keeps each preference group in that order; then each group is shuffled where it stands.
  // Insertion sort: stable, in place, and for the few records of an MX set cheaper than Array#sort.
  if (best.length > 32) best.sort((x, y) => x.preference - y.preference);
  for (let i = 1; i < best.length; i++) {
    const e = best[i]!;
    let j = i;
    while (j > 0 && best[j - 1]!.preference > e.preference) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = e;
  }
  for (let start = 0; start < best.length;) {
    let end = start + 1;
    while (end < best.length && best[end]!.preference === best[start]!.preference) end++;
    shuffleRange(best, start, end, rng);
    start = end;
  }
  return best;
}

/** Asks one question: the outcome at once when it is known, else a promise of it. */
export type Ask = (name: string, type: 'MX' | 'A' | 'AAAA') => DnsOutcome | Promise<DnsOutcome>;

/**
 * Asks through `resolver`, adding the exchanges each question sent to `counted`. A cached answer (most exchange
 * addresses in a scan) is taken at once, without a round of promises, and sends nothing.
 */
export function askCounting(resolver: Resolver, counted: { queries: number }, call: CallOptions = {}): Ask {
  return (name, type) =>
    resolver.peek?.({ name, type }) ??
    resolver.resolve({ name, type }, call).then((o) => {
      counted.queries += o.attempts;
      return o;
    });
}

/**
 * What a route says of one exchange, whatever its preference: its addresses, or why it has none, and the
 * warnings that go with it. The arrays may be shared between routes (a scan keeps one per exchange): read-only.
 */
export interface ExchangeFacts {
  exchange: string;
  addresses: string[];
  ipv4: string[];
  ipv6: string[];
  canonical: string | null;
  error: string | null;
  warnings: string[];
  /** How long the facts hold: as long as the resolver's cache keeps both answers (CNAMEs, negative TTLs); 0 after a failure. */
  ttl: number;
}

/** Two look-ups, either already answered: waits only when one is not (Promise.all costs a round of promises). */
function both(
  a: DnsOutcome | Promise<DnsOutcome>,
  b: DnsOutcome | Promise<DnsOutcome>,
): [DnsOutcome, DnsOutcome] | Promise<[DnsOutcome, DnsOutcome]> {
  return a instanceof Promise || b instanceof Promise ? Promise.all([a, b]) : [a, b];
}

function isAddressLiteral(exchange: string): boolean {
  // An address is digits and dots (IPv4) or has a colon or brackets (IPv6, "ipv6:"); host names end in a letter.
  if (!/^[\d.]+$/.test(exchange) && !/[:[\]]/.test(exchange)) return false;
  const bare = exchange.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, '');
  return isIP(bare) !== 0;
}

function literalFacts(entry: MxEntry): ExchangeFacts {
  return {
    exchange: entry.exchange,
    addresses: [],
    ipv4: [],
    ipv6: [],
    canonical: null,
    error: 'the exchange is an IP address, not a host name',
    warnings: [
      `MX ${entry.preference} ${entry.exchange} is an address literal; an MX must name a host (RFC 5321 §5.1), so senders do not use it`,
    ],
    ttl: 0,
  };
}

/** An exchange's addresses (A and AAAA), or why it has none. */
export function exchangeFacts(exchange: string, ask: Ask): ExchangeFacts | Promise<ExchangeFacts> {
  const pair = both(ask(exchange, 'A'), ask(exchange, 'AAAA'));
  if (pair instanceof Promise) return pair.then(([a, aaaa]) => factsOf(exchange, a, aaaa));
  return factsOf(exchange, pair[0], pair[1]);
}

/** An exchange's facts from its A and AAAA outcomes. */
function factsOf(exchange: string, a: DnsOutcome, aaaa: DnsOutcome): ExchangeFacts {
  const facts: ExchangeFacts = {
    exchange,
    addresses: [],
    ipv4: a.kind === 'answer' ? a.records.map((r) => String(r.data)) : [],
    ipv6: aaaa.kind === 'answer' ? aaaa.records.map((r) => String(r.data)) : [],
    canonical: null,
    error: null,
    warnings: [],
    // Kept as long as the resolver's cache would keep both answers (CNAMEs and negative answers included).
    ttl: Math.min(cacheTtl(a), cacheTtl(aaaa)),
  };
  const chain = a.cnames.at(-1) ?? aaaa.cnames.at(-1);
  if (chain) {
    facts.canonical = chain.target;
    facts.warnings.push(
      `${exchange} is a CNAME for ${chain.target}; an MX must point at a host's own name (RFC 2181 §10.3), though senders follow it`,
    );
  }
  facts.addresses = [...facts.ipv6, ...facts.ipv4];
  if (facts.addresses.length > 0) return facts;
  const failed = [a, aaaa].find(isTemporary);
  if (failed) {
    facts.error = `temporary failure: ${describeFailure(failed)}`;
    facts.warnings.push(
      `${exchange}: address look-up failed (${describeFailure(failed)}); a sender would try it later`,
    );
  } else {
    facts.error = a.kind === 'nxdomain' ? 'the name does not exist' : 'no A or AAAA record';
    facts.warnings.push(`${exchange} has no address (${facts.error}); a sender skips it`);
  }
  return facts;
}

/** No MX: the domain's own addresses, if any, are its implicit MX at preference 0 (RFC 5321 §5.1). */
async function implicitRoute(domain: string, route: MailRoute, ask: Ask): Promise<void> {
  const [a, aaaa] = await both(ask(domain, 'A'), ask(domain, 'AAAA'));
  const ipv4 = a.kind === 'answer' ? a.records.map((r) => String(r.data)) : [];
  const ipv6 = aaaa.kind === 'answer' ? aaaa.records.map((r) => String(r.data)) : [];
  if (ipv4.length + ipv6.length > 0) {
    route.implicit = true;
    const ttls = [a, aaaa].flatMap((o) => (o.kind === 'answer' ? o.records.map((r) => r.ttl) : []));
    route.ttl = Math.min(...ttls);
    route.hosts = [
      { exchange: domain, preference: 0, addresses: [...ipv6, ...ipv4], ipv4, ipv6, canonical: null, error: null },
    ];
    route.warnings.push(`${domain} has no MX record; mail goes to its own address (the implicit MX of RFC 5321 §5.1)`);
    return;
  }
  const failed = [a, aaaa].find(isTemporary);
  route.outcome = failed ? 'temp-failure' : 'no-mail-route';
  route.reason = failed
    ? `no MX record, and the address look-up failed: ${describeFailure(failed)}; a sender would retry later`
    : `${domain} exists but has neither an MX record nor an address: no mail can be delivered to it`;
}

/**
 * RFC 5321 §5.1: when the sender is itself one of the exchanges, it drops that preference level and every worse
 * one, so mail only moves towards better MX hosts. Matches exchange names (and their CNAME targets) against
 * the given names, and addresses against the given addresses.
 */
export function pruneLocal(
  hosts: readonly RouteHost[],
  as: readonly string[],
): { hosts: RouteHost[]; info: { matched: string; preference: number; dropped: string[] } } | null {
  const addresses = new Set(as.filter((x) => isIP(x) !== 0).map((x) => x.toLowerCase()));
  const names = new Set(as.filter((x) => isIP(x) === 0).map((x) => normalizeName(x)));
  const matches = hosts.filter(
    (h) =>
      names.has(h.exchange) ||
      (h.canonical !== null && names.has(h.canonical)) ||
      h.addresses.some((a) => addresses.has(a.toLowerCase())),
  );
  if (matches.length === 0) return null;
  const level = Math.min(...matches.map((h) => h.preference));
  const first = matches.find((h) => h.preference === level)!;
  return {
    hosts: hosts.filter((h) => h.preference < level),
    info: {
      matched: first.exchange,
      preference: level,
      dropped: hosts.filter((h) => h.preference >= level).map((h) => h.exchange),
    },
  };
}
