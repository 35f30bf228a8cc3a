/**
 * @module dns/resolver
 * The driver: sends questions to the configured servers with a per-attempt timeout and a retry policy,
 * falls back to TCP when a UDP reply is truncated (RFC 7766 §5; RFC 1035 §4.2.1), follows CNAME chains
 * across responses (RFC 1034 §5.3.3), and keeps one TTL-respecting cache. Outcomes are values: NXDOMAIN,
 * NODATA, SERVFAIL, REFUSED and timeouts are all returned, never thrown; only the caller's abort throws.
 */
import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import type { Rng } from '../core/random.js';
import { abortableSleep } from '../core/signal.js';
import { ServerHealth } from './health.js';
import { MxError } from '../core/errors.js';
import { DnsCache } from './cache.js';
import type { Classified, CnameLink } from './classify.js';
import { MAX_CNAME_HOPS, classifyResponse, negativeTtl } from './classify.js';
import type { QueryOptions } from './message.js';
import { encodeQuery } from './message.js';
import { exchangeTcp } from './transport/tcp.js';
import type { ExchangePool } from './transport/bulk.js';
import type { ExchangeOutcome, ExchangeRequest } from './transport/types.js';
import { NOTHING_DROPPED } from './transport/types.js';
import { exchangeUdp } from './transport/udp.js';
import type { DnsQuestion, DnsRecord, DnsResponse, DnsServer, Transport } from './types.js';
import { formatServer } from './servers.js';

/** Published for every exchange: `{server, question, outcome}`. Subscribe for a `--trace` view. */
export const queryChannel = channel('mxray:dns:query');

export interface ResolverOptions {
  servers: DnsServer[];
  /** Time allowed for one attempt (one server, UDP plus any TCP fallback). Default 2000 ms. */
  timeoutMs?: number;
  /** Attempts per question, rotating through the servers. Default 3. */
  attempts?: number;
  /** Use TCP only. */
  tcp?: boolean;
  /** Send EDNS0 (default true). */
  edns?: boolean;
  /** Set RD (default true; false to question authoritative servers as they are). */
  recursionDesired?: boolean;
  /** Ask for DNSSEC records and the AD bit (DO=1). */
  dnssecOk?: boolean;
  /** Set CD (RFC 4035 §3.2.2): a validating resolver then answers even when validation fails. */
  checkingDisabled?: boolean;
  clock?: Clock;
  /** A cache to share; by default each resolver has its own. */
  cache?: DnsCache<DnsOutcome>;
  /**
   * A shared transport for bulk work (a scan): a `UdpPool`, or a `TcpPool` of pipelined connections. By
   * default each question gets a fresh UDP socket (and a fresh connection over TCP).
   */
  pool?: ExchangePool;
  /**
   * Which resolved questions the cache keeps (default: all). Questions in flight are joined either way. A scan
   * keeps only what domains share (exchange addresses), not each domain's own MX answer.
   */
  cacheable?: (question: DnsQuestion) => boolean;
  /**
   * Which questions the cache does not keep still join the same question in flight (default: all). A scan's
   * MX questions are each domain's own: joining them would only cost the bookkeeping.
   */
  join?: (question: DnsQuestion) => boolean;
  /**
   * How the first server of a question is chosen when there are several: `rotate` (default) goes round in
   * order, as dig users expect; `health` draws by each server's smoothed response time and failure rate
   * (dns/health.ts), so a slow or failing resolver gets fewer questions: for bulk work.
   */
  balance?: 'rotate' | 'health';
  /** Randomness for `balance: 'health'`. */
  rng?: Rng;
}

/** Where an outcome came from. */
export interface Provenance {
  /** `host:port` of the server that gave the final reply (or was last tried). */
  server: string;
  transport: Transport;
  /** Exchanges sent, over all servers and CNAME hops. */
  attempts: number;
  elapsedMs: number;
  /** Replies that failed validation and were dropped, with the reason (read-only: often one shared empty list). */
  dropped: readonly string[];
}

/** One question sent as is: the raw response, like dig shows it. */
export type QueryOutcome = Provenance &
  (
    | { kind: 'response'; response: DnsResponse }
    | { kind: 'timeout'; timeoutMs: number }
    | { kind: 'network'; error: string }
  );

/** A question resolved: CNAMEs followed, the outcome classified. */
export type DnsOutcome = Provenance & {
  question: DnsQuestion;
  /** The CNAME chain walked from the question's name, possibly empty. */
  cnames: CnameLink[];
  /** True when served from the cache (TTLs are then aged). */
  cached: boolean;
} & (
    | { kind: 'answer'; records: DnsRecord[]; authenticated: boolean }
    | { kind: 'nxdomain'; soa: DnsRecord | null }
    | { kind: 'nodata'; soa: DnsRecord | null }
    | { kind: 'cname-loop' }
    | { kind: 'referral'; nameservers: string[] }
    | { kind: 'servfail' | 'refused' | 'formerr' | 'notimp' | 'error'; rcode: string }
    | { kind: 'timeout'; timeoutMs: number }
    | { kind: 'network'; error: string }
  );

export type DnsOutcomeKind = DnsOutcome['kind'];

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface Resolver {
  readonly servers: readonly DnsServer[];
  /** Sends one question and returns the reply as received (retries on timeout; no CNAME following, no cache). */
  query(question: DnsQuestion, options?: CallOptions): Promise<QueryOutcome>;
  /** Resolves a question: CNAME chains followed and reported, the outcome classified, the cache used. */
  resolve(question: DnsQuestion, options?: CallOptions): Promise<DnsOutcome>;
  /**
   * `resolve` with callbacks instead of a promise, for hot paths: `done` gets the outcome, `fail` what `resolve`
   * would reject with; exactly one is called, never before this returns. A question the resolver neither caches
   * nor joins (a scan's MX questions) then makes no promise on a shared pool.
   */
  resolveThen?(
    question: DnsQuestion,
    done: (outcome: DnsOutcome) => void,
    fail: (err: unknown) => void,
    options?: CallOptions,
  ): void;
  /** The cached outcome of a question, at once, or undefined: `resolve` without the wait, for hot paths. */
  peek?(question: DnsQuestion): DnsOutcome | undefined;
  readonly cache: DnsCache<DnsOutcome>;
}

const FAILOVER_RCODES = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP']);

/**
 * Creates a resolver over the given servers.
 * @example
 * const r = createResolver({ servers: [{ host: '127.0.0.1', port: 5300 }] });
 * const mx = await r.resolve({ name: 'example.com', type: 'MX' });
 * if (mx.kind === 'answer') console.log(mx.records);
 */
export function createResolver(options: ResolverOptions): Resolver {
  if (options.servers.length === 0) throw new MxError('MX_DNS_NO_SERVERS', 'no DNS server to ask');
  const servers = options.servers.slice();
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxAttempts = Math.max(1, options.attempts ?? 3);
  const cache = options.cache ?? new DnsCache<DnsOutcome>(options.clock ? { clock: options.clock } : {});
  let next = 0;
  const serverNames = servers.map(formatServer);
  const health = options.balance === 'health' ? new ServerHealth(servers.length, options.rng) : null;
  const freshQuery: QueryOptions = {
    edns: options.edns ?? true,
    recursionDesired: options.recursionDesired ?? true,
    dnssecOk: options.dnssecOk ?? false,
    checkingDisabled: options.checkingDisabled ?? false,
  };
  // The pool picks the ID itself (unique on its socket), so the CSPRNG is not spent here.
  const pooledQuery: QueryOptions = { ...freshQuery, id: 0 };

  /**
   * One exchange at server `index`: a truncated UDP reply retried over TCP, the outcome published and the
   * server's health noted.
   */
  function attemptAt(index: number, question: DnsQuestion, signal?: AbortSignal): Promise<ExchangeOutcome> {
    return new Promise((resolve, reject) => attemptWith(index, question, signal, resolve, reject));
  }

  /**
   * `attemptAt` with callbacks: the first attempt of every question of a scan goes through here, and a shared
   * pool then makes no promise at all for it. `done` runs in a later step than this call, never in it.
   */
  function attemptWith(
    index: number,
    question: DnsQuestion,
    signal: AbortSignal | undefined,
    done: (outcome: ExchangeOutcome) => void,
    fail: (err: unknown) => void,
  ): void {
    const server = servers[index]!;
    const pool = options.tcp && options.pool?.transport !== 'tcp' ? undefined : options.pool;
    const { id, bytes } = encodeQuery(question, pool ? pooledQuery : freshQuery);
    const req = { server, question, id, bytes, timeoutMs, signal };
    const then = (first: ExchangeOutcome): void => {
      if (first.kind === 'response' && first.response.flags.tc && first.transport === 'udp') {
        overTcp(req, first)
          .then((outcome) => settle(index, question, outcome))
          .then(done, fail);
        return;
      }
      // Called from a socket's handler: what goes wrong here goes to `fail`, not into the handler.
      let settled: ExchangeOutcome;
      try {
        settled = settle(index, question, first);
      } catch (err) {
        fail(err);
        return;
      }
      done(settled);
    };
    if (pool?.exchangeThen) pool.exchangeThen(req, then, fail);
    else (pool ? pool.exchange(req) : options.tcp ? exchangeTcp(req) : exchangeUdp(req)).then(then, fail);
  }

  /** RFC 7766 §5: a truncated UDP reply is retried over TCP, at the same server, with a fresh ID. */
  async function overTcp(req: ExchangeRequest, truncated: ExchangeOutcome): Promise<ExchangeOutcome> {
    const timeLeft = Math.max(1, timeoutMs - truncated.elapsedMs);
    const viaTcp = await exchangeTcp({ ...req, ...encodeQuery(req.question, freshQuery), timeoutMs: timeLeft });
    return {
      ...viaTcp,
      elapsedMs: truncated.elapsedMs + viaTcp.elapsedMs,
      dropped: [...truncated.dropped, ...viaTcp.dropped],
    };
  }

  function settle(index: number, question: DnsQuestion, outcome: ExchangeOutcome): ExchangeOutcome {
    if (queryChannel.hasSubscribers) {
      queryChannel.publish({ server: formatServer(servers[index]!), question, outcome });
    }
    health?.record(
      index,
      outcome.kind === 'response' && !FAILOVER_RCODES.has(outcome.response.rcode),
      outcome.kind === 'timeout' ? timeoutMs : outcome.elapsedMs,
    );
    return outcome;
  }

  /** The server a question is asked of first: in turn, or drawn by health. */
  function firstServer(): number {
    return health ? health.pick() : next++ % servers.length;
  }

  /** Asks with retries; `first`, when given, is the first attempt already made. */
  async function query(question: DnsQuestion, call: CallOptions = {}, first?: FirstAttempt): Promise<QueryOutcome> {
    call.signal?.throwIfAborted();
    const start = first?.start ?? performance.now();
    const dropped: string[] = [];
    const firstIndex = first ? first.index : firstServer();
    let last: QueryOutcome | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const index = (firstIndex + attempt) % servers.length;
      // Back off before asking a server again after it failed at once (a network error, SERVFAIL…): every
      // server has been tried this round, so an immediate resend would only hammer them. A timeout has waited.
      if (attempt >= servers.length && last && last.kind !== 'timeout') {
        const round = Math.floor(attempt / servers.length);
        await abortableSleep(backoffMs(round), call.signal);
      }
      const out = attempt === 0 && first ? first.out : await attemptAt(index, question, call.signal);
      if (out.dropped.length > 0) dropped.push(...out.dropped);
      const serverName = serverNames[index]!;
      const elapsedMs = Math.round(performance.now() - start);
      if (out.kind === 'response') {
        last = {
          server: serverName,
          transport: out.transport,
          attempts: attempt + 1,
          elapsedMs,
          dropped,
          kind: 'response',
          response: out.response,
        };
        // Another server may answer where this one failed; with a single server, SERVFAIL is its answer.
        const untried = attempt + 1 < servers.length;
        if (FAILOVER_RCODES.has(out.response.rcode) && untried && attempt + 1 < maxAttempts) continue;
        return last;
      }
      const prov = { server: serverName, transport: out.transport, attempts: attempt + 1, elapsedMs, dropped };
      last =
        out.kind === 'timeout'
          ? { ...prov, kind: 'timeout', timeoutMs }
          : { ...prov, kind: 'network', error: out.error };
    }
    return last!;
  }

  async function resolveUncached(question: DnsQuestion, call: CallOptions, first?: FirstAttempt): Promise<DnsOutcome> {
    const start = first?.start ?? performance.now();
    const cnames: CnameLink[] = [];
    const seen = new Set<string>();
    let attempts = 0;
    let name = question.name;
    const dropped: string[] = [];
    for (let hop = 0; ; hop++) {
      const raw = await (hop === 0 ? query(question, call, first) : query({ name, type: question.type }, call));
      attempts += raw.attempts;
      dropped.push(...raw.dropped);
      const base = {
        question,
        cnames,
        cached: false,
        server: raw.server,
        transport: raw.transport,
        attempts,
        elapsedMs: Math.round(performance.now() - start),
        dropped,
      };
      if (raw.kind === 'timeout') return { ...base, kind: 'timeout', timeoutMs: raw.timeoutMs };
      if (raw.kind === 'network') return { ...base, kind: 'network', error: raw.error };
      const c: Classified = classifyResponse(raw.response, name, question.type, seen);
      if ('cnames' in c) cnames.push(...c.cnames);
      switch (c.kind) {
        case 'answer':
          return { ...base, kind: 'answer', records: c.records, authenticated: raw.response.flags.ad };
        case 'nxdomain':
        case 'nodata':
          return { ...base, kind: c.kind, soa: c.soa };
        case 'cname-loop':
          return { ...base, kind: 'cname-loop' };
        case 'referral':
          return { ...base, kind: 'referral', nameservers: c.nameservers };
        case 'follow':
          for (const link of c.cnames) seen.add(link.name);
          if (hop >= MAX_CNAME_HOPS || seen.has(c.target)) return { ...base, kind: 'cname-loop' };
          name = c.target;
          continue;
        default:
          return { ...base, kind: c.kind, rcode: c.rcode };
      }
    }
  }

  function resolve(question: DnsQuestion, call: CallOptions = {}): Promise<DnsOutcome> {
    if (call.signal?.aborted) return Promise.reject(call.signal.reason as Error);
    const store = options.cacheable?.(question) ?? true;
    if (!store && options.join?.(question) === false) return resolveStraight(question, call);
    const key = `${question.name}|${question.type}`;
    const load = () => resolveStraight(question, call);
    return store ? cache.throughView(key, load, cacheTtl, ageOutcome) : cache.shared(key, load, ageOutcome);
  }

  function resolveThen(
    question: DnsQuestion,
    done: (outcome: DnsOutcome) => void,
    fail: (err: unknown) => void,
    call: CallOptions = {},
  ): void {
    // Only a question neither kept nor joined skips the cache's promise (a scan's MX questions: each domain's own).
    if (call.signal?.aborted || options.cacheable?.(question) !== false || options.join?.(question) !== false) {
      resolve(question, call).then(done, fail);
      return;
    }
    straight(question, call, done, fail);
  }

  function resolveStraight(question: DnsQuestion, call: CallOptions): Promise<DnsOutcome> {
    return new Promise((done, fail) => straight(question, call, done, fail));
  }

  /**
   * Resolves a question not in the cache: the first attempt is made at once, and a plain answer with no CNAME
   * (nearly every reply) becomes the outcome straight away; anything else goes on through
   * the retry loop from that attempt, so retries, failover and CNAME chains are exactly as there. The loop's
   * layers cost a scan of millions more CPU than the exchange itself.
   */
  function straight(
    question: DnsQuestion,
    call: CallOptions,
    done: (outcome: DnsOutcome) => void,
    fail: (err: unknown) => void,
  ): void {
    const start = performance.now();
    const index = firstServer();
    attemptWith(
      index,
      question,
      call.signal,
      (out) => {
        if (out.kind === 'response') {
          let outcome: DnsOutcome | null;
          try {
            outcome = plainOutcome(question, out.response);
          } catch (err) {
            fail(err);
            return;
          }
          if (outcome) {
            outcome.server = serverNames[index]!;
            outcome.transport = out.transport;
            outcome.elapsedMs = Math.round(performance.now() - start);
            outcome.dropped = out.dropped;
            done(outcome);
            return;
          }
        }
        resolveUncached(question, call, { index, out, start }).then(done, fail);
      },
      fail,
    );
  }

  function peek(question: DnsQuestion): DnsOutcome | undefined {
    if (options.cacheable?.(question) === false) return undefined;
    const hit = cache.getView(`${question.name}|${question.type}`, ageOutcome);
    if (hit) cache.hits++;
    return hit;
  }

  return { servers, query, resolve, resolveThen, peek, cache };
}

/** An attempt already made, handed to the retry loop. */
interface FirstAttempt {
  index: number;
  out: ExchangeOutcome;
  start: number;
}

/**
 * The outcome of a reply that settles its question by itself with records (exactly as `classifyResponse` reads
 * it): an answer, without a CNAME. Null for anything else, NXDOMAIN and NODATA included (they take the retry loop,
 * which makes the same outcome; they are few in a scan). Provenance is filled in by the caller.
 */
function plainOutcome(question: DnsQuestion, response: DnsResponse): DnsOutcome | null {
  if (response.rcode !== 'NOERROR') return null;
  const c = classifyResponse(response, question.name, question.type);
  if (c.kind !== 'answer' || c.cnames.length > 0) return null;
  // One literal, not a base spread or assigned to: this runs for nearly every question of a scan, and an object
  // made whole holds its fields in itself (spread, the outcomes of a 100k scan took 140 MB more).
  return {
    question,
    cnames: c.cnames,
    cached: false,
    server: '',
    transport: 'udp',
    attempts: 1,
    elapsedMs: 0,
    dropped: NOTHING_DROPPED,
    kind: c.kind,
    records: c.records,
    authenticated: response.flags.ad,
  };
}

/** The pause before retry round `round` (1, 2, …): 100 ms doubling to at most 1.6 s, with ±25 % jitter. */
export function backoffMs(round: number, rng: Rng = Math.random): number {
  const base = Math.min(1600, 100 * 2 ** Math.max(0, round - 1));
  return Math.round(base * (0.75 + rng() * 0.5));
}

/** Seconds an outcome may be cached: the smallest TTL involved; negative per RFC 2308; failures not at all. */
export function cacheTtl(o: DnsOutcome): number {
  const chain = o.cnames.map((c) => c.ttl);
  switch (o.kind) {
    case 'answer':
      return Math.min(...chain, ...o.records.map((r) => r.ttl));
    case 'nxdomain':
    case 'nodata':
      return Math.min(...chain, negativeTtl(o.soa));
    default:
      return 0;
  }
}

/** A cached outcome with TTLs reduced by the time it has spent in the cache (shared: read-only). */
function ageOutcome(o: DnsOutcome, ageSeconds: number): DnsOutcome {
  const age = (ttl: number) => Math.max(0, ttl - ageSeconds);
  const cnames = o.cnames.map((c) => ({ ...c, ttl: age(c.ttl) }));
  const extra = { cnames, cached: true, attempts: 0, elapsedMs: 0, dropped: NOTHING_DROPPED };
  if (o.kind === 'answer') return { ...o, ...extra, records: o.records.map((r) => ({ ...r, ttl: age(r.ttl) })) };
  // A negative answer from the cache carries what is left of its negative TTL as its SOA's TTL (RFC 2308 §5).
  if ((o.kind === 'nxdomain' || o.kind === 'nodata') && o.soa) {
    return { ...o, ...extra, soa: { ...o.soa, ttl: age(negativeTtl(o.soa)) } };
  }
  return { ...o, ...extra };
}
