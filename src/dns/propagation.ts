/**
 * @module dns/propagation
 * "Has my change reached everyone?": one question put at once to many recursive resolvers and to the
 * domain's authoritative servers, the answers grouped and compared with the authoritative one.
 * - Resolvers are asked with RD set; each answers from its cache until the old TTL runs out (RFC 1034
 *   §4.3.1, RFC 2308 §5 for cached negative answers), which is all "propagation" is.
 * - The authoritative servers are found through the first resolver: the NS RRset of the zone holding the
 *   name (the SOA in a negative answer names that zone, RFC 2308 §2.2), then their A records. They are asked
 *   with RD clear (RFC 1034 §4.3.1), so they answer from the zone itself.
 * - Answers compare as sets of RDATA at the name asked (the CNAME, if the name is one, since that is what the
 *   zone holds there), TTLs ignored; NXDOMAIN and NODATA are answers too. Timeouts and error rcodes are
 *   reported per server and belong to no group.
 * The comparison (`compareAnswers`) is pure; `checkPropagation` does the I/O, every server concurrently.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MxError } from '../core/errors.js';
import { isSubdomain } from './name.js';
import { formatRdata } from './presentation.js';
import type { QueryOutcome } from './resolver.js';
import { createResolver } from './resolver.js';
import { formatServer, parseServer } from './servers.js';
import type { DnsQuestion, DnsRecord, DnsServer, RecordType } from './types.js';

/** A resolver to ask, with a label and, for the built-in ones, the country it is run from. */
export interface ResolverEntry {
  server: DnsServer;
  label: string;
  /** ISO 3166-1 alpha-2 code of the operator's country, or null when unknown. */
  country: string | null;
}

const entry = (address: string, label: string, country: string): ResolverEntry => ({
  server: { host: address, port: 53 },
  label,
  country,
});

/**
 * Well-known public resolvers: data for real users of `mxray propagation`, never used by tests (which pass
 * their own list of loopback servers). Countries are the operators' home countries; most run anycast.
 */
export const PUBLIC_RESOLVERS: readonly ResolverEntry[] = [
  entry('8.8.8.8', 'Google Public DNS', 'US'),
  entry('8.8.4.4', 'Google Public DNS (2)', 'US'),
  entry('1.1.1.1', 'Cloudflare', 'US'),
  entry('1.0.0.1', 'Cloudflare (2)', 'US'),
  entry('9.9.9.9', 'Quad9', 'CH'),
  entry('149.112.112.112', 'Quad9 (2)', 'CH'),
  entry('208.67.222.222', 'OpenDNS', 'US'),
  entry('208.67.220.220', 'OpenDNS (2)', 'US'),
  entry('4.2.2.1', 'Level 3 / Lumen', 'US'),
  entry('156.154.70.1', 'UltraDNS Public', 'US'),
  entry('74.82.42.42', 'Hurricane Electric', 'US'),
  entry('8.26.56.26', 'Comodo Secure DNS', 'US'),
  entry('185.228.168.9', 'CleanBrowsing', 'US'),
  entry('76.76.2.0', 'Control D', 'CA'),
  entry('149.112.121.10', 'CIRA Canadian Shield', 'CA'),
  entry('94.140.14.14', 'AdGuard DNS', 'CY'),
  entry('84.200.69.80', 'DNS.WATCH', 'DE'),
  entry('80.67.169.12', 'FDN', 'FR'),
  entry('194.242.2.2', 'Mullvad DNS', 'SE'),
  entry('77.88.8.8', 'Yandex DNS', 'RU'),
  entry('114.114.114.114', '114DNS', 'CN'),
  entry('223.5.5.5', 'AliDNS', 'CN'),
  entry('119.29.29.29', 'DNSPod (Tencent)', 'CN'),
  entry('180.76.76.76', 'Baidu DNS', 'CN'),
  entry('101.101.101.101', 'Quad101 (TWNIC)', 'TW'),
  entry('168.126.63.1', 'KT', 'KR'),
];

/**
 * Parses a resolver list: one `ADDRESS[:PORT] [label…]` per line (IPv6 as `[ADDR]:PORT`), `#` starts a
 * comment. Throws MxError MX_INVALID_ARGUMENT naming the file and line of a bad entry, or when there is none.
 * @example parseResolverList('127.0.0.1:5301 old\n127.0.0.1:5302 new # comment\n')
 * // [{ server: { host: '127.0.0.1', port: 5301 }, label: 'old', country: null }, …]
 */
export function parseResolverList(text: string, file = '<resolvers>'): ResolverEntry[] {
  const out: ResolverEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [address, ...rest] = line.split(/\s+/);
    let server: DnsServer;
    try {
      server = parseServer(address as string);
    } catch (err) {
      throw new MxError('MX_INVALID_ARGUMENT', `${file}:${i + 1}: ${(err as Error).message}`, { cause: err });
    }
    if (isIP(server.host) === 0)
      throw new MxError('MX_INVALID_ARGUMENT', `${file}:${i + 1}: ${JSON.stringify(address)} is not an address`);
    out.push({ server, label: rest.length > 0 ? rest.join(' ') : formatServer(server), country: null });
  });
  if (out.length === 0) throw new MxError('MX_INVALID_ARGUMENT', `${file} lists no resolver`);
  return out;
}

/** Reads a resolver list file (see `parseResolverList`). */
export async function loadResolverList(path: string): Promise<ResolverEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseResolverList(text, path);
}

export type ServerRole = 'resolver' | 'authoritative';

export type ServerAnswerKind =
  'answer' | 'nxdomain' | 'nodata' | 'referral' | 'servfail' | 'refused' | 'error' | 'timeout' | 'network';

/** What one server said. */
export interface ServerAnswer {
  role: ServerRole;
  /** The resolver's label, or the nameserver's name. */
  label: string;
  country: string | null;
  /** `host:port` asked. */
  server: string;
  kind: ServerAnswerKind;
  rcode: string | null;
  aa: boolean;
  /** The RDATA at the name asked, as `TYPE rdata`, sorted: what is compared. */
  answer: string[];
  /** The whole answer section (a CNAME chain and its end, for a resolver). */
  records: DnsRecord[];
  /** The smallest TTL of the compared records: how long a cache may still keep them. */
  ttl: number | null;
  elapsedMs: number;
  /** Why there is no usable reply, else null. */
  error: string | null;
}

/** One set of identical answers. */
export interface AnswerGroup {
  /** 1-based, in the order shown: the reference first, then by size. */
  id: number;
  kind: 'answer' | 'nxdomain' | 'nodata';
  answer: string[];
  /** Indexes into the servers list. */
  members: number[];
  resolvers: number;
  authoritative: number;
  reference: boolean;
}

export type PropagationStatus = 'consistent' | 'disagreement' | 'no-answer';

export interface Comparison {
  groups: AnswerGroup[];
  /** Group id per server (null: no usable reply). */
  groupOf: (number | null)[];
  /** Where the reference answer comes from: the authoritative servers, else the largest resolver group. */
  referenceSource: 'authoritative' | 'majority' | null;
  /** The authoritative servers that answered all gave the same answer. */
  authoritativeAgree: boolean;
  status: PropagationStatus;
  /** Indexes of the servers whose answer differs from the reference. */
  disagreeing: number[];
  /** Indexes of the servers with no usable reply. */
  failed: number[];
}

const GROUPED = new Set<ServerAnswerKind>(['answer', 'nxdomain', 'nodata']);

/**
 * Groups answers and compares them with the reference (pure). The reference is the authoritative servers'
 * answer (the largest group among them when they disagree, which is itself a disagreement); without any
 * authoritative answer, the largest resolver group.
 * @example compareAnswers(servers).status // 'disagreement'
 */
export function compareAnswers(servers: readonly ServerAnswer[]): Comparison {
  const byKey = new Map<string, { kind: AnswerGroup['kind']; answer: string[]; members: number[] }>();
  const failed: number[] = [];
  servers.forEach((s, i) => {
    if (!GROUPED.has(s.kind)) {
      failed.push(i);
      return;
    }
    const key = `${s.kind}\n${s.answer.join('\n')}`;
    const g = byKey.get(key) ?? { kind: s.kind as AnswerGroup['kind'], answer: s.answer, members: [] };
    g.members.push(i);
    byKey.set(key, g);
  });
  const count = (members: number[], role: ServerRole) => members.filter((m) => servers[m]?.role === role).length;
  const raw = [...byKey.values()].map((g) => ({
    ...g,
    resolvers: count(g.members, 'resolver'),
    authoritative: count(g.members, 'authoritative'),
  }));
  const authGroups = raw.filter((g) => g.authoritative > 0);
  const largest = (gs: typeof raw, by: (g: (typeof raw)[number]) => number) =>
    gs.reduce<(typeof raw)[number] | null>((best, g) => (best === null || by(g) > by(best) ? g : best), null);
  const reference = largest(authGroups, (g) => g.authoritative) ?? largest(raw, (g) => g.resolvers);
  const referenceSource = authGroups.length > 0 ? 'authoritative' : reference ? 'majority' : null;
  const ordered = [...raw].sort((a, b) => {
    if (a === reference) return -1;
    if (b === reference) return 1;
    return b.members.length - a.members.length;
  });
  const groups: AnswerGroup[] = ordered.map((g, i) => ({ id: i + 1, ...g, reference: g === reference }));
  const groupOf = servers.map((_, i) => groups.find((g) => g.members.includes(i))?.id ?? null);
  const disagreeing = groups.filter((g) => !g.reference).flatMap((g) => g.members);
  const status: PropagationStatus =
    reference === null ? 'no-answer' : disagreeing.length > 0 ? 'disagreement' : 'consistent';
  return {
    groups,
    groupOf,
    referenceSource,
    authoritativeAgree: authGroups.length <= 1,
    status,
    disagreeing: disagreeing.sort((a, b) => a - b),
    failed,
  };
}

/** Sends one question to one server. The default uses the resolver's transports, one server, no cache. */
export type PropagationAskFn = (
  server: DnsServer,
  question: DnsQuestion,
  options: { recursionDesired: boolean; signal?: AbortSignal | undefined },
) => Promise<QueryOutcome>;

export interface PropagationOptions {
  resolvers: readonly ResolverEntry[];
  /** Ask the domain's authoritative servers too. Default true. */
  authoritative?: boolean;
  /** The port the authoritative servers are asked on. Default 53. */
  authPort?: number;
  /** Per server and attempt. Default 2000 ms. */
  timeoutMs?: number;
  /** Attempts per server. Default 2. */
  attempts?: number;
  tcp?: boolean;
  /** Also ask nameservers at their IPv6 addresses. Default false. */
  ipv6?: boolean;
  signal?: AbortSignal;
  ask?: PropagationAskFn;
}

export interface PropagationResult extends Comparison {
  question: DnsQuestion;
  servers: ServerAnswer[];
  /** The zone the name is in and its nameservers as the first resolver gave them. */
  zone: { name: string | null; nameservers: { name: string; addresses: string[] }[]; error: string | null };
  elapsedMs: number;
}

function toAnswer(
  base: Pick<ServerAnswer, 'role' | 'label' | 'country' | 'server'>,
  q: DnsQuestion,
  o: QueryOutcome,
): ServerAnswer {
  const empty = { answer: [], records: [], ttl: null, elapsedMs: o.elapsedMs };
  if (o.kind === 'timeout')
    return {
      ...base,
      ...empty,
      kind: 'timeout',
      rcode: null,
      aa: false,
      error: `no reply within ${o.timeoutMs} ms (${o.attempts} attempts)`,
    };
  if (o.kind === 'network') return { ...base, ...empty, kind: 'network', rcode: null, aa: false, error: o.error };
  const r = o.response;
  const common = { ...base, ...empty, rcode: r.rcode, aa: r.flags.aa, records: r.answers };
  const here = r.answers.filter((x) => x.name === q.name && (x.type === q.type || x.type === 'CNAME'));
  switch (r.rcode) {
    case 'NOERROR':
      break;
    case 'NXDOMAIN':
      // A CNAME whose target does not exist: the name itself holds the CNAME, and that is what is compared.
      if (here.length > 0) break;
      return { ...common, kind: 'nxdomain', error: null };
    case 'SERVFAIL':
      return { ...common, kind: 'servfail', error: 'answered SERVFAIL' };
    case 'REFUSED':
      return { ...common, kind: 'refused', error: 'answered REFUSED' };
    default:
      return { ...common, kind: 'error', error: `answered ${r.rcode}` };
  }
  if (here.length === 0) {
    // A non-recursive server that does not hold the zone refers elsewhere (RFC 1034 §4.3.2 step 3b).
    const referral =
      !r.flags.aa && r.authority.some((x) => x.type === 'NS') && !r.authority.some((x) => x.type === 'SOA');
    if (referral) return { ...common, kind: 'referral', error: 'not authoritative: answered with a referral' };
    return { ...common, kind: 'nodata', error: null };
  }
  const answer = [...new Set(here.map((x) => `${x.type} ${formatRdata(x.type, x.data)}`))].sort();
  return { ...common, kind: 'answer', answer, ttl: Math.min(...here.map((x) => x.ttl)), error: null };
}

/**
 * Asks every resolver and every authoritative server of the name's zone at once, and compares the answers.
 * Outcomes are values; only the caller's abort throws.
 * @example
 * const p = await checkPropagation({ name: 'example.com', type: 'MX' }, { resolvers: PUBLIC_RESOLVERS });
 * p.status // 'consistent' | 'disagreement' | 'no-answer'
 */
export async function checkPropagation(question: DnsQuestion, options: PropagationOptions): Promise<PropagationResult> {
  options.signal?.throwIfAborted();
  if (options.resolvers.length === 0) throw new MxError('MX_INVALID_ARGUMENT', 'no resolver to ask');
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 2000;
  const attempts = options.attempts ?? 2;
  const ask: PropagationAskFn =
    options.ask ??
    ((server, q, o) =>
      createResolver({
        servers: [server],
        timeoutMs,
        attempts,
        recursionDesired: o.recursionDesired,
        ...(options.tcp ? { tcp: true } : {}),
      }).query(q, { signal: o.signal }));
  const signal = options.signal;

  const fromResolvers = options.resolvers.map(async (r) => {
    const o = await ask(r.server, question, { recursionDesired: true, signal });
    return toAnswer(
      { role: 'resolver', label: r.label, country: r.country, server: formatServer(r.server) },
      question,
      o,
    );
  });

  const fromAuthority = (async (): Promise<{ zone: PropagationResult['zone']; answers: ServerAnswer[] }> => {
    if (options.authoritative === false) return { zone: { name: null, nameservers: [], error: null }, answers: [] };
    const first = (options.resolvers[0] as ResolverEntry).server;
    const found = await findNameservers(question.name, first, ask, options.ipv6 ?? false, signal);
    if (found.error !== null) return { zone: found, answers: [] };
    const asks = found.nameservers.flatMap((ns) =>
      ns.addresses.map(async (address) => {
        const server = { host: address, port: options.authPort ?? 53 };
        const o = await ask(server, question, { recursionDesired: false, signal });
        return toAnswer(
          { role: 'authoritative', label: ns.name, country: null, server: formatServer(server) },
          question,
          o,
        );
      }),
    );
    return { zone: found, answers: await Promise.all(asks) };
  })();

  const [resolverAnswers, authority] = await Promise.all([Promise.all(fromResolvers), fromAuthority]);
  const servers = [...authority.answers, ...resolverAnswers];
  return {
    question,
    servers,
    zone: authority.zone,
    ...compareAnswers(servers),
    elapsedMs: Math.round(performance.now() - started),
  };
}

// The zone holding `name` and its nameservers' addresses, asked of one recursive resolver: NS at the name,
// else at the zone the SOA of a negative answer names, else one label up (RFC 2308 §2.2).
async function findNameservers(
  name: string,
  resolver: DnsServer,
  ask: PropagationAskFn,
  ipv6: boolean,
  signal: AbortSignal | undefined,
): Promise<PropagationResult['zone']> {
  const fail = (error: string) => ({ name: null, nameservers: [], error });
  let candidate = name;
  for (let hop = 0; hop < 128; hop++) {
    const o = await ask(resolver, { name: candidate, type: 'NS' }, { recursionDesired: true, signal });
    if (o.kind !== 'response')
      return fail(`cannot find the nameservers: ${o.kind === 'timeout' ? 'no reply' : o.error} from ${o.server}`);
    const r = o.response;
    if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN')
      return fail(`cannot find the nameservers: ${o.server} answered ${r.rcode} for ${candidate || '.'} NS`);
    const ns = r.answers.filter((x) => x.type === 'NS' && x.name === candidate);
    if (ns.length > 0) {
      const names = [...new Set(ns.map((x) => String(x.data)))].sort();
      const nameservers = await Promise.all(
        names.map(async (n) => ({ name: n, addresses: await addressesOf(n, resolver, ask, ipv6, signal) })),
      );
      if (nameservers.every((x) => x.addresses.length === 0))
        return { name: candidate, nameservers, error: `no nameserver of ${candidate || '.'} has an address` };
      return { name: candidate, nameservers, error: null };
    }
    const soa = r.authority.find((x) => x.type === 'SOA');
    if (soa && soa.name !== candidate && isSubdomain(candidate, soa.name)) {
      candidate = soa.name;
      continue;
    }
    if (candidate === '') return fail('the root has no NS records at this resolver');
    const dot = candidate.indexOf('.');
    candidate = dot < 0 ? '' : candidate.slice(dot + 1);
  }
  return fail('cannot find the zone of the name');
}

async function addressesOf(
  host: string,
  resolver: DnsServer,
  ask: PropagationAskFn,
  ipv6: boolean,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const types: RecordType[] = ipv6 ? ['A', 'AAAA'] : ['A'];
  const lists = await Promise.all(
    types.map(async (type) => {
      const o = await ask(resolver, { name: host, type }, { recursionDesired: true, signal });
      if (o.kind !== 'response' || o.response.rcode !== 'NOERROR') return [];
      return o.response.answers.filter((x) => x.type === type).map((x) => String(x.data));
    }),
  );
  return [...new Set(lists.flat())];
}
