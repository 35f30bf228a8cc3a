/**
 * @module dns/trace
 * Iterative resolution from the root, shown step by step the way `dig +trace` does: RFC 1034 §5.3.3's
 * algorithm with RD clear (§4.3.1), one question per step.
 * - Start at the root servers (the built-in root hints, or the ones given) and follow referrals: NS in the
 *   authority section, their addresses from glue in the additional section (RFC 1034 §4.2.1). Glue is taken
 *   only for names inside the zone of the server that sent it (RFC 2181 §5.4.1: out-of-bailiwick data is
 *   not trusted). A nameserver without glue is found by a trace of its own, shown as deeper steps.
 * - A referral must lead strictly below the zone the server was asked for and still contain the name;
 *   anything else (the same zone again, an upward or sideways referral) is a lame server (RFC 1912 §2.8),
 *   and the next one is tried.
 * - A CNAME that leaves what the server answers for restarts the trace at the root for its target (RFC 1034
 *   §5.3.3 step 3); chains are bounded and loops detected. So are glueless nameserver lookups that need
 *   themselves.
 * - Every step has a timeout; the whole trace a step budget (30 by default).
 * The decisions (`interpretReferral`, the loop checks) use no I/O; the query itself is the injected `ask`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CnameLink } from './classify.js';
import { MAX_CNAME_HOPS, classifyResponse } from './classify.js';
import { isSubdomain } from './name.js';
import type { QueryOutcome } from './resolver.js';
import { createResolver } from './resolver.js';
import type { DnsQuestion, DnsRecord, DnsResponse, DnsServer, RecordType } from './types.js';

/** A root server: its name and IPv4 address (IANA root hints, named.root, as of 2024). */
export interface RootHint {
  name: string;
  address: string;
}

/**
 * The IANA root hints' IPv4 addresses. Real data, for real users: used only when no root is given, and never
 * by tests (they start at a lab root on loopback).
 */
export const ROOT_HINTS: readonly RootHint[] = [
  { name: 'a.root-servers.net', address: '198.41.0.4' },
  { name: 'b.root-servers.net', address: '170.247.170.2' },
  { name: 'c.root-servers.net', address: '192.33.4.12' },
  { name: 'd.root-servers.net', address: '199.7.91.13' },
  { name: 'e.root-servers.net', address: '192.203.230.10' },
  { name: 'f.root-servers.net', address: '192.5.5.241' },
  { name: 'g.root-servers.net', address: '192.112.36.4' },
  { name: 'h.root-servers.net', address: '198.97.190.53' },
  { name: 'i.root-servers.net', address: '192.36.148.17' },
  { name: 'j.root-servers.net', address: '192.58.128.30' },
  { name: 'k.root-servers.net', address: '193.0.14.129' },
  { name: 'l.root-servers.net', address: '199.7.83.42' },
  { name: 'm.root-servers.net', address: '202.12.27.33' },
];

/** A server the trace asks: its name when known (from NS or the hints), address and port. */
export interface TraceServer {
  name: string | null;
  address: string;
  port: number;
}

/** Sends one question to one server, RD clear. The default uses the resolver's UDP/TCP transports. */
export type AskFn = (
  server: DnsServer,
  question: DnsQuestion,
  options: { timeoutMs: number; tcp: boolean; signal?: AbortSignal | undefined },
) => Promise<QueryOutcome>;

export interface TraceOptions {
  /** Where to start. Default: the root hints on `port`. A root without a port of its own uses `port`. */
  roots?: Array<{ host: string; port?: number; name?: string | null }>;
  /** The port of every server learned from a referral (and of roots given without one). Default 53. */
  port?: number;
  /** Time for one step. Default 2000 ms. */
  timeoutMs?: number;
  /** Most questions sent in all (glueless lookups included). Default 30. */
  maxSteps?: number;
  /** Deepest nesting of glueless nameserver lookups. Default 3. */
  maxDepth?: number;
  /** Use AAAA glue too (after the IPv4 addresses). Default false: many hosts have no IPv6 route. */
  ipv6?: boolean;
  tcp?: boolean;
  signal?: AbortSignal;
  ask?: AskFn;
}

export type TraceStepKind =
  'referral' | 'answer' | 'cname' | 'nxdomain' | 'nodata' | 'lame' | 'server-error' | 'timeout' | 'network';

/** One question to one server, and what came back. */
export interface TraceStep {
  /** 1-based, in the order sent. */
  step: number;
  /** 0 for the traced name; 1 and deeper for the lookup of a nameserver that had no glue. */
  depth: number;
  question: DnsQuestion;
  server: TraceServer;
  /** The zone the server was asked as an authority for ('' is the root). */
  zone: string;
  kind: TraceStepKind;
  /** The reply's RCODE, or null without a reply. */
  rcode: string | null;
  /** The reply's AA flag. */
  aa: boolean;
  /** For a referral: the child zone and its nameservers with the glue addresses that came along. */
  referral: { zone: string; nameservers: { name: string; addresses: string[] }[] } | null;
  /** Answer records (CNAMEs included) or the SOA of a negative answer. */
  records: DnsRecord[];
  elapsedMs: number;
  /** Why a step failed or was not used (lame, error rcode, timeout), else null. */
  note: string | null;
}

export type TraceOutcomeKind =
  'answer' | 'nxdomain' | 'nodata' | 'lame' | 'loop' | 'step-limit' | 'unreachable' | 'server-error';

export interface TraceResult {
  question: DnsQuestion;
  kind: TraceOutcomeKind;
  /** The records of the asked type at the end of the CNAME chain (answer only). */
  records: DnsRecord[];
  cnames: CnameLink[];
  steps: TraceStep[];
  /** One sentence on why the trace stopped short of an answer, else null. */
  reason: string | null;
  elapsedMs: number;
}

interface Nameserver {
  name: string | null;
  addresses: string[];
}

/** What one reply means for the trace (pure). */
export type Interpretation =
  | { kind: 'answer'; records: DnsRecord[]; cnames: CnameLink[] }
  | { kind: 'cname'; target: string; cnames: CnameLink[] }
  | { kind: 'nxdomain' | 'nodata'; soa: DnsRecord | null; cnames: CnameLink[] }
  | { kind: 'referral'; zone: string; nameservers: { name: string; addresses: string[] }[] }
  | { kind: 'lame'; note: string }
  | { kind: 'server-error'; rcode: string };

/**
 * Interprets one reply to `name`/`type` from a server asked as an authority for `zone` (pure). A referral
 * is accepted only when it leads strictly below `zone` and still contains `name`; glue only for nameserver
 * names inside `zone` (RFC 2181 §5.4.1).
 * @example interpretReply(response, 'www.example.com', 'A', 'com', { ipv6: false })
 * // { kind: 'referral', zone: 'example.com', nameservers: [{ name: 'ns1.example.com', addresses: ['192.0.2.1'] }] }
 */
export function interpretReply(
  response: DnsResponse,
  name: string,
  type: RecordType,
  zone: string,
  options: { ipv6: boolean },
): Interpretation {
  const c = classifyResponse(response, name, type);
  switch (c.kind) {
    case 'answer':
      return { kind: 'answer', records: c.records, cnames: c.cnames };
    case 'follow':
      return { kind: 'cname', target: c.target, cnames: c.cnames };
    case 'cname-loop':
      return { kind: 'lame', note: `the CNAME chain in the reply loops (${c.cnames.map((l) => l.name).join(' → ')})` };
    case 'nxdomain':
    case 'nodata':
      return { kind: c.kind, soa: c.soa, cnames: c.cnames };
    case 'referral': {
      const ns = response.authority.filter((r) => r.type === 'NS');
      const child = (ns[0] as DnsRecord).name;
      if (ns.some((r) => r.name !== child))
        return { kind: 'lame', note: 'the referral holds NS records of several zones' };
      if (child === zone || !isSubdomain(child, zone) || !isSubdomain(name, child)) {
        return {
          kind: 'lame',
          note: `refers to ${show(child)}, which does not lead below ${show(zone)} towards ${show(name)}`,
        };
      }
      const names = [...new Set(ns.map((r) => String(r.data).toLowerCase()))];
      const glue = (host: string) => {
        if (!isSubdomain(host, zone)) return []; // out of bailiwick: not trusted
        const v4 = response.additional.filter((r) => r.name === host && r.type === 'A').map((r) => String(r.data));
        const v6 = options.ipv6
          ? response.additional.filter((r) => r.name === host && r.type === 'AAAA').map((r) => String(r.data))
          : [];
        return [...new Set([...v4, ...v6])].filter((a) => isIPv4(a) || isIPv6(a));
      };
      return { kind: 'referral', zone: child, nameservers: names.map((n) => ({ name: n, addresses: glue(n) })) };
    }
    default:
      return { kind: 'server-error', rcode: c.rcode };
  }
}

const show = (name: string) => (name === '' ? '.' : `${name}.`);

const defaultAsk: AskFn = (server, question, options) =>
  createResolver({
    servers: [server],
    attempts: 1,
    timeoutMs: options.timeoutMs,
    recursionDesired: false,
    ...(options.tcp ? { tcp: true } : {}),
  }).query(question, { signal: options.signal });

type Leg =
  | { kind: 'answer'; records: DnsRecord[]; cnames: CnameLink[] }
  | { kind: 'cname'; target: string; cnames: CnameLink[] }
  | { kind: 'nxdomain' | 'nodata'; cnames: CnameLink[] }
  | { kind: 'referral'; zone: string; nameservers: Nameserver[] }
  | { kind: 'loop' | 'step-limit' | 'unreachable' | 'lame' | 'server-error'; reason: string };

type Final = Exclude<Leg, { kind: 'cname' } | { kind: 'referral' }>;

/**
 * Traces `question` from the root. Outcomes are values; only the caller's abort throws.
 * @example
 * const t = await traceName({ name: 'www.trace.test', type: 'A' }, { roots: [{ host: '127.0.22.1' }], port: 5353 });
 * for (const s of t.steps) console.log(s.zone, s.server.name, s.kind);
 */
export async function traceName(question: DnsQuestion, options: TraceOptions = {}): Promise<TraceResult> {
  options.signal?.throwIfAborted();
  const started = performance.now();
  const port = options.port ?? 53;
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxSteps = options.maxSteps ?? 30;
  const maxDepth = options.maxDepth ?? 3;
  const ipv6 = options.ipv6 ?? false;
  const ask = options.ask ?? defaultAsk;
  const roots: Nameserver[] = (options.roots ?? ROOT_HINTS.map((h) => ({ host: h.address, name: h.name }))).map(
    (r) => ({ name: r.name ?? null, addresses: [r.host] }),
  );
  const rootPort = new Map((options.roots ?? []).map((r) => [r.host, r.port ?? port]));
  const steps: TraceStep[] = [];

  // Asks the servers of `zone` in turn until one gives a usable reply.
  async function askZone(
    zone: string,
    servers: Nameserver[],
    q: DnsQuestion,
    depth: number,
    stack: string[],
  ): Promise<Leg> {
    const tried = new Set<string>();
    const failures: Leg[] = [];
    // Servers with addresses first (glue or hints); a glueless one costs a trace of its own (RFC 1034 §5.3.3).
    const ordered = [
      ...servers.filter((s) => s.addresses.length > 0),
      ...servers.filter((s) => s.addresses.length === 0),
    ];
    for (const ns of ordered) {
      let addresses = ns.addresses;
      if (addresses.length === 0 && ns.name !== null) {
        const found = await findAddresses(ns.name, depth, stack);
        if (found.kind !== 'found') {
          failures.push(found.leg);
          if (found.leg.kind === 'step-limit') return found.leg;
          continue;
        }
        addresses = found.addresses;
      }
      for (const address of addresses) {
        const p = zone === '' && rootPort.has(address) ? (rootPort.get(address) as number) : port;
        const key = `${address}|${p}`;
        if (tried.has(key)) continue;
        tried.add(key);
        if (steps.length >= maxSteps) return { kind: 'step-limit', reason: `stopped after ${maxSteps} queries` };
        const leg = await askOne(zone, { name: ns.name, address, port: p }, q, depth);
        if (leg.kind === 'unreachable' || leg.kind === 'lame' || leg.kind === 'server-error') {
          failures.push(leg);
          continue;
        }
        return leg;
      }
    }
    return worstFailure(zone, failures);
  }

  async function askOne(zone: string, server: TraceServer, q: DnsQuestion, depth: number): Promise<Leg> {
    const out = await ask({ host: server.address, port: server.port }, q, {
      timeoutMs,
      tcp: options.tcp ?? false,
      signal: options.signal,
    });
    const step: TraceStep = {
      step: steps.length + 1,
      depth,
      question: q,
      server,
      zone,
      kind: 'timeout',
      rcode: null,
      aa: false,
      referral: null,
      records: [],
      elapsedMs: out.elapsedMs,
      note: null,
    };
    steps.push(step);
    const who = `${server.name === null ? server.address : `${server.name} (${server.address})`}`;
    if (out.kind === 'timeout') {
      step.note = `no reply within ${out.timeoutMs} ms`;
      return { kind: 'unreachable', reason: `${who}: ${step.note}` };
    }
    if (out.kind === 'network') {
      step.kind = 'network';
      step.note = out.error;
      return { kind: 'unreachable', reason: `${who}: ${out.error}` };
    }
    step.rcode = out.response.rcode;
    step.aa = out.response.flags.aa;
    const i = interpretReply(out.response, q.name, q.type, zone, { ipv6 });
    step.kind = i.kind;
    switch (i.kind) {
      case 'answer':
      case 'cname':
        step.records = out.response.answers;
        return i;
      case 'nxdomain':
      case 'nodata':
        step.records = i.soa ? [i.soa] : [];
        return { kind: i.kind, cnames: i.cnames };
      case 'referral':
        step.referral = { zone: i.zone, nameservers: i.nameservers };
        return i;
      case 'lame':
        step.note = i.note;
        return { kind: 'lame', reason: `${who} is lame for ${show(zone)}: it ${i.note}` };
      case 'server-error':
        step.note = `answered ${i.rcode}`;
        return { kind: 'server-error', reason: `${who} answered ${i.rcode} for ${show(zone)}` };
    }
  }

  // The addresses of a nameserver that came without glue: a trace of its own, one level deeper.
  async function findAddresses(
    host: string,
    depth: number,
    stack: string[],
  ): Promise<{ kind: 'found'; addresses: string[] } | { kind: 'failed'; leg: Leg }> {
    if (stack.includes(host)) {
      return {
        kind: 'failed',
        leg: {
          kind: 'loop',
          reason: `finding ${show(host)} needs ${show(host)} itself (${[...stack, host].map(show).join(' → ')})`,
        },
      };
    }
    if (depth + 1 > maxDepth) {
      return {
        kind: 'failed',
        leg: { kind: 'loop', reason: `glueless nameservers nest deeper than ${maxDepth} at ${show(host)}` },
      };
    }
    const types: RecordType[] = ipv6 ? ['A', 'AAAA'] : ['A'];
    const addresses: string[] = [];
    let last: Final | null = null;
    for (const type of types) {
      const r = await resolveFrom({ name: host, type }, depth + 1, [...stack, host]);
      last = r;
      if (r.kind === 'answer') addresses.push(...r.records.map((x) => String(x.data)));
      if (r.kind === 'step-limit') break;
    }
    if (addresses.length > 0) return { kind: 'found', addresses };
    const why = last && 'reason' in last ? last.reason : `${show(host)} has no address`;
    const kind = last?.kind === 'step-limit' || last?.kind === 'loop' ? last.kind : 'unreachable';
    return { kind: 'failed', leg: { kind, reason: `no address for nameserver ${show(host)}: ${why}` } };
  }

  // One full resolution from the root, CNAMEs restarted from the root.
  async function resolveFrom(q: DnsQuestion, depth: number, stack: string[]): Promise<Final> {
    const cnames: CnameLink[] = [];
    const seen = new Set([q.name]);
    let name = q.name;
    for (;;) {
      let zone = '';
      let servers = roots;
      let leg: Leg;
      for (;;) {
        leg = await askZone(zone, servers, { name, type: q.type }, depth, stack);
        if (leg.kind !== 'referral') break;
        zone = leg.zone;
        servers = leg.nameservers;
      }
      if (leg.kind === 'cname') {
        cnames.push(...leg.cnames);
        if (seen.has(leg.target) || cnames.length > MAX_CNAME_HOPS) {
          return {
            kind: 'loop',
            reason: `the CNAME chain ${seen.has(leg.target) ? 'comes back' : `is over ${MAX_CNAME_HOPS} hops`}: ${[...cnames.map((l) => l.name), leg.target].map(show).join(' → ')}`,
          };
        }
        for (const l of leg.cnames) seen.add(l.name);
        seen.add(leg.target);
        name = leg.target;
        continue;
      }
      if (leg.kind === 'answer' || leg.kind === 'nxdomain' || leg.kind === 'nodata') {
        return { ...leg, cnames: [...cnames, ...leg.cnames] };
      }
      return leg;
    }
  }

  const final = await resolveFrom(question, 0, []);
  const base = { question, steps, elapsedMs: Math.round(performance.now() - started) };
  switch (final.kind) {
    case 'answer':
      return { ...base, kind: 'answer', records: final.records, cnames: final.cnames, reason: null };
    case 'nxdomain':
    case 'nodata':
      return { ...base, kind: final.kind, records: [], cnames: final.cnames, reason: null };
    default:
      return { ...base, kind: final.kind, records: [], cnames: [], reason: final.reason };
  }
}

// When every server of a zone failed: say the most telling failure (a loop or the step limit over a lame
// server, a lame server over an error rcode, an error rcode over silence).
function worstFailure(zone: string, failures: Leg[]): Leg {
  const rank = ['step-limit', 'loop', 'lame', 'server-error', 'unreachable'];
  const sorted = failures
    .filter((f): f is Extract<Leg, { reason: string }> => 'reason' in f)
    .sort((a, b) => rank.indexOf(a.kind) - rank.indexOf(b.kind));
  const first = sorted[0];
  if (!first) return { kind: 'unreachable', reason: `no server of ${show(zone)} has an address` };
  const others =
    sorted.length > 1 ? ` (and ${sorted.length - 1} more server failure${sorted.length > 2 ? 's' : ''})` : '';
  return { ...first, reason: `${first.reason}${others}` };
}
