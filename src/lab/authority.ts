/**
 * @module lab/authority
 * Authoritative answers, without I/O: octets in, octets out, the way Knot DNS 3 answers (its
 * `knot/nameserver/internet.c` is the model, and test/e2e/knot-interop.test.ts holds the lab to it).
 * - RFC 1034 §4.3.2 lookup: AA on authoritative answers; a referral (no AA, NS in authority, glue in
 *   additional) at or below a delegation; REFUSED outside every zone, with EDE 20 (RFC 8914 §4.21).
 * - RFC 2308 §2: NXDOMAIN and NODATA (an empty non-terminal is NODATA, RFC 8020) carry the zone's SOA with
 *   TTL min(SOA TTL, MINIMUM) (RFC 2308 §5).
 * - RFC 1034 §3.6.2 / RFC 6604: CNAME chains are chased within the zone, loops stop, the RCODE is the last
 *   name's; RFC 4592 wildcards (including wildcard CNAMEs).
 * - Additional section: A/AAAA of in-zone NS, MX and SRV targets (RFC 1035 §3.3.9, RFC 2782), as many as fit.
 * - RFC 6891: OPT in the reply when the query had one (payload 1232, DO echoed, BADVERS for version > 0).
 * - RFC 2181 §9, RFC 1035 §4.2.1: over UDP an RRset that does not fit sets TC and is left out, with everything
 *   after it; the size limit is the client's EDNS payload size (at least 512, at most ours) or 512.
 */
import { MxError } from '../core/errors.js';
import { isSubdomain } from '../dns/name.js';
import type { DnsRecord } from '../dns/types.js';
import {
  EDNS_DO,
  FLAG_AA,
  FLAG_QR,
  FLAG_RD,
  createMessageWriter,
  encodeRdata,
  optSize,
  parseQuery,
  typeCode,
  typeName,
} from './wire.js';
import type { MessageWriter, OwnerHint, ParsedQuestion, QueryEdns, WireOpt, WrittenRRset } from './wire.js';
import type { Zone } from './zone.js';

const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, AAAA: 28, SRV: 33, DS: 43, RRSIG: 46, NSEC: 47 } as const;
const QT = { IXFR: 251, AXFR: 252, ANY: 255 } as const;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, BADVERS: 16 };
const RCODE_NAMES = new Map(Object.entries(RCODE).map(([k, v]) => [v, k]));
const EDE_OPTION = 15; // RFC 8914 §2
const EDE_NOT_AUTHORITATIVE = 20;

interface RRset {
  name: string;
  type: string;
  code: number;
  ttl: number;
  rdata: unknown[];
  glue: Glue[];
}

/** An in-zone node holding A/AAAA for the name in RDATA number `index` of an NS/MX/SRV RRset. */
interface Glue {
  node: Node;
  index: number;
  owner: string;
  /** Not strictly needed for the referral (RFC 1034 §4.3.2 step 3b): leaving it out does not set TC. */
  optional: boolean;
}

interface Node {
  name: string;
  rrsets: Map<number, RRset>;
  parent: Node | null;
  /** A delegation point: NS below the apex (RFC 1034 §4.2.1). */
  deleg: boolean;
  /** Below a delegation point: glue, not authoritative data. */
  nonauth: boolean;
  wildcard: Node | null;
  isWildcard: boolean;
}

interface ZoneIndex {
  origin: string;
  depth: number;
  nodes: Map<string, Node>;
  apex: Node;
  negativeSoa: RRset;
}

/** Zones indexed for answering. Build with `createAuthority`. */
export interface Authority {
  readonly zones: readonly Zone[];
  /** The largest UDP reply, and the payload size advertised in OPT. */
  readonly maxUdpPayload: number;
  readonly index: readonly ZoneIndex[];
}

export interface AuthorityOptions {
  /** Largest UDP reply; Knot's `udp-max-payload` default and the DNS Flag Day 2020 value is 1232. */
  maxUdpPayload?: number;
}

function labelCount(name: string): number {
  return name === '' ? 0 : name.split('.').length;
}

function parentOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

function rdataTarget(code: number, data: unknown): string | null {
  const d = data as Record<string, unknown>;
  if (code === T.NS) return String(data);
  if (code === T.MX) return String(d.exchange);
  if (code === T.SRV) return String(d.target);
  return null;
}

function indexZone(zone: Zone): ZoneIndex {
  const origin = zone.origin;
  const nodes = new Map<string, Node>();
  const nodeFor = (name: string): Node => {
    let node = nodes.get(name);
    if (!node) {
      node = {
        name,
        rrsets: new Map(),
        parent: null,
        deleg: false,
        nonauth: false,
        wildcard: null,
        isWildcard: name === '*' || name.startsWith('*.'),
      };
      nodes.set(name, node);
      if (name !== origin) node.parent = nodeFor(parentOf(name));
    }
    return node;
  };
  const apex = nodeFor(origin);

  // RRsets: duplicates merged, the TTL of the last record (as Knot's zone loader does after "TTL mismatch"),
  // records in the order of their uncompressed RDATA octets (Knot keeps rdatasets sorted that way).
  const groups = new Map<string, { name: string; type: string; ttl: number; rdata: Map<string, [Buffer, unknown]> }>();
  for (const r of zone.records) {
    const key = `${r.name}\u0000${r.type}`;
    const group = groups.get(key) ?? { name: r.name, type: r.type, ttl: r.ttl, rdata: new Map() };
    const wire = encodeRdata(r.type, r.data);
    group.rdata.set(wire.toString('hex'), [wire, r.data]);
    group.ttl = r.ttl;
    groups.set(key, group);
  }
  for (const g of groups.values()) {
    const sorted = [...g.rdata.values()].sort((a, b) => Buffer.compare(a[0], b[0])).map(([, d]) => d);
    const code = typeCode(g.type);
    nodeFor(g.name).rrsets.set(code, { name: g.name, type: g.type, code, ttl: g.ttl, rdata: sorted, glue: [] });
  }

  for (const node of nodes.values()) {
    node.deleg = node !== apex && node.rrsets.has(T.NS);
    if (node.isWildcard && node.parent) node.parent.wildcard = node;
  }
  for (const node of nodes.values()) {
    for (let p = node.parent; p && p !== apex; p = p.parent) if (p.deleg) node.nonauth = true;
  }

  const lookupGlue = (target: string): Node | null => {
    if (!isSubdomain(target, origin)) return null;
    const exact = nodes.get(target);
    if (exact) return exact;
    let n = target;
    while (!nodes.has(n)) n = parentOf(n);
    return nodes.get(n)?.wildcard ?? null;
  };
  for (const node of nodes.values()) {
    for (const rrset of node.rrsets.values()) {
      rrset.rdata.forEach((data, index) => {
        const target = rdataTarget(rrset.code, data);
        if (target === null || target === '') return;
        const glueNode = lookupGlue(target);
        if (!glueNode) return;
        const optional = !(node.deleg && rrset.code === T.NS && isSubdomain(target, node.name));
        rrset.glue.push({ node: glueNode, index, owner: target, optional });
      });
    }
  }

  const soa = apex.rrsets.get(T.SOA);
  if (!soa) throw new MxError('MX_ZONE_CONFLICT', `zone ${origin || '.'} has no SOA at its origin`);
  const minimum = Number((soa.rdata[0] as { minimum: number }).minimum);
  return {
    origin,
    depth: labelCount(origin),
    nodes,
    apex,
    negativeSoa: { ...soa, ttl: Math.min(soa.ttl, minimum), glue: [] },
  };
}

/**
 * Indexes zones for answering. Throws MxError MX_ZONE_CONFLICT when two zones have one origin.
 * @example const authority = createAuthority([parseZone(text)]);
 */
export function createAuthority(zones: readonly Zone[], options: AuthorityOptions = {}): Authority {
  const seen = new Map<string, Zone>();
  for (const z of zones) {
    const prior = seen.get(z.origin);
    if (prior) {
      throw new MxError(
        'MX_ZONE_CONFLICT',
        `two zones with the origin ${z.origin || '.'}: ${prior.file ?? '<text>'} and ${z.file ?? '<text>'}`,
      );
    }
    seen.set(z.origin, z);
  }
  return { zones: [...zones], maxUdpPayload: options.maxUdpPayload ?? 1232, index: zones.map(indexZone) };
}

// ---------------------------------------------------------------------------------------------------------------

export interface RespondOptions {
  transport: 'udp' | 'tcp';
}

/** The outcome of one query: octets to send back, or nothing (as Knot, for input it cannot read). */
export type Reply =
  | {
      kind: 'drop';
      reason: string;
      /** The octets were not a DNS message at all: a TCP connection carrying them is closed. */
      malformed: boolean;
    }
  | {
      kind: 'reply';
      /** FORMERR for a message that could not be read: sent, then a TCP connection is closed (as Knot). */
      malformed: boolean;
      bytes: Buffer;
      /** RCODE name, including extended ones (BADVERS). */
      rcode: string;
      flags: number;
      question: ParsedQuestion | null;
      records: WrittenRRset[];
    };

type State = 'hit' | 'miss' | 'nodata' | 'deleg' | 'follow' | 'trunc' | 'error';

interface Ctx {
  w: MessageWriter;
  zone: ZoneIndex;
  qname: string;
  qtype: number;
  /** The name being looked up, as Knot's `qdata->name`: the QNAME lowercased, then each CNAME target. */
  sname: string;
  node: Node | null;
  udp: boolean;
  visited: Set<Node>;
  packet: Array<{ id: number; rrset: RRset; owner: string }>;
  rcode: number;
}

const lower = (name: string) => name.replace(/[A-Z]/g, (c) => c.toLowerCase());

function findZone(a: Authority, qname: string, qtype: number): ZoneIndex | null {
  let best: ZoneIndex | null = null;
  for (const z of a.index) if (isSubdomain(qname, z.origin) && (!best || z.depth > best.depth)) best = z;
  // RFC 4035 §3.1.4.1: DS lives in the parent; answer it from the parent zone when we serve that too.
  if (best && qtype === T.DS && qname === best.origin) {
    let parent: ZoneIndex | null = null;
    for (const z of a.index) {
      if (z !== best && isSubdomain(qname, z.origin) && (!parent || z.depth > parent.depth)) parent = z;
    }
    if (parent) best = parent;
  }
  return best;
}

function putRRset(
  ctx: Ctx,
  section: 'answer' | 'authority' | 'additional',
  rrset: RRset,
  owner: string,
  opts: { hint?: OwnerHint; truncate: boolean; checkDuplicate?: boolean },
): 'ok' | 'duplicate' | 'full' {
  // Knot's duplicate check sees a wildcard's records under another expanded owner as a different RRset.
  if (opts.checkDuplicate && ctx.packet.some((p) => p.rrset === rrset && lower(p.owner) === lower(owner))) {
    return 'duplicate';
  }
  const id = ctx.w.put(
    section,
    { name: owner, type: rrset.type, ttl: rrset.ttl, rdata: rrset.rdata },
    { truncate: opts.truncate, ...(opts.hint === undefined ? {} : { ownerHint: opts.hint }) },
  );
  if (id === null) return 'full';
  ctx.packet.push({ id, rrset, owner });
  return 'ok';
}

// A wildcard's records take the name asked (RFC 4592 §3.3.1).
function ownerFor(ctx: Ctx, node: Node): string {
  return node.isWildcard && !ctx.sname.startsWith('*.') ? ctx.sname : node.name;
}

function putAnswer(ctx: Ctx, node: Node): State {
  const first = ctx.packet.length === 0;
  let rrset: RRset | undefined;
  if (ctx.qtype === QT.ANY) {
    // RFC 8482 §4.1: answer ANY with one RRset; Knot picks the lowest type at the name.
    const codes = [...node.rrsets.keys()].sort((x, y) => x - y);
    rrset = codes.length > 0 ? node.rrsets.get(codes[0] as number) : undefined;
  } else {
    rrset = node.rrsets.get(ctx.qtype);
  }
  if (!rrset) return 'nodata';
  const result = putRRset(ctx, 'answer', rrset, first ? ctx.qname : ownerFor(ctx, node), {
    truncate: ctx.udp,
    ...(first ? { hint: 'qname' as const } : {}),
  });
  if (result === 'full') return ctx.udp ? 'trunc' : 'error';
  return 'hit';
}

function followCname(ctx: Ctx, node: Node, cname: RRset): State {
  const result = putRRset(ctx, 'answer', cname, ownerFor(ctx, node), { truncate: true, checkDuplicate: true });
  if (result === 'full') return 'trunc';
  // The same CNAME twice, or the same wildcard twice: a loop; stop as if the name led nowhere.
  if (result === 'duplicate' || (node.isWildcard && ctx.visited.has(node))) {
    ctx.node = null;
    return 'hit';
  }
  if (node.isWildcard) ctx.visited.add(node);
  ctx.sname = String(cname.rdata[0]);
  return 'follow';
}

function nameFound(ctx: Ctx, node: Node): State {
  const cname = node.rrsets.get(T.CNAME);
  if (cname && ![T.CNAME, T.RRSIG, T.NSEC, QT.ANY].includes(ctx.qtype as never)) return followCname(ctx, node, cname);
  if ((node.deleg && ctx.qtype !== T.DS) || node.nonauth) {
    ctx.node = node;
    return 'deleg';
  }
  return putAnswer(ctx, node);
}

function nameNotFound(ctx: Ctx, encloser: Node): State {
  if (encloser.wildcard) {
    const state = nameFound(ctx, encloser.wildcard);
    ctx.visited.add(encloser.wildcard);
    return state;
  }
  let n = encloser;
  while ((n.rrsets.size === 0 || n.nonauth) && n.parent) n = n.parent;
  if (n.deleg) {
    ctx.node = n;
    return 'deleg';
  }
  return 'miss';
}

function solveName(ctx: Ctx): State {
  const name = lower(ctx.sname);
  // A CNAME target outside the zone ends the chain (Knot does not follow it into its other zones).
  if (!isSubdomain(name, ctx.zone.origin)) return 'hit';
  const node = ctx.zone.nodes.get(name);
  if (node) return nameFound(ctx, node);
  let n = name;
  while (!ctx.zone.nodes.has(n)) n = parentOf(n);
  return nameNotFound(ctx, ctx.zone.nodes.get(n) as Node);
}

// Knot's put_additional: per glue, A then AAAA; a glue that does not fit ends that glue, not the loop; the
// result of the last attempt decides whether the next RRset is looked at.
function putAdditional(ctx: Ctx, entry: { id: number; rrset: RRset }, state: State): 'ok' | 'full' {
  let result: 'ok' | 'duplicate' | 'full' = 'ok';
  for (const glue of entry.rrset.glue) {
    for (const code of [T.A, T.AAAA]) {
      const rrset = glue.node.rrsets.get(code);
      if (!rrset) continue;
      result = putRRset(ctx, 'additional', rrset, glue.owner, {
        hint: { rrset: entry.id, rdata: glue.index },
        truncate: state === 'deleg' && !glue.optional,
      });
      if (result !== 'ok') break;
    }
  }
  return result === 'full' ? 'full' : 'ok';
}

function answerFromZone(ctx: Ctx): State {
  let state = solveName(ctx);
  if (state !== 'deleg') ctx.w.flags |= FLAG_AA;
  while (state === 'follow') state = solveName(ctx);
  if (state === 'trunc' || state === 'error') return state;

  let result: 'ok' | 'duplicate' | 'full' = 'ok';
  switch (state) {
    case 'miss':
      ctx.rcode = RCODE.NXDOMAIN;
      result = putRRset(ctx, 'authority', ctx.zone.negativeSoa, ctx.zone.origin, { truncate: false });
      break;
    case 'nodata':
      result = putRRset(ctx, 'authority', ctx.zone.negativeSoa, ctx.zone.origin, { truncate: false });
      break;
    case 'deleg': {
      let n = ctx.node as Node;
      while (!n.deleg && n.parent) n = n.parent;
      result = putRRset(ctx, 'authority', n.rrsets.get(T.NS) as RRset, n.name, { truncate: true });
      break;
    }
    default:
      break;
  }
  if (result === 'full') return 'trunc';

  for (let i = 0; i < ctx.packet.length; i++) {
    const entry = ctx.packet[i] as { id: number; rrset: RRset };
    if (entry.rrset.glue.length === 0) continue;
    if (putAdditional(ctx, entry, state) === 'full') return 'trunc';
  }
  return state;
}

/**
 * Answers one query received over `transport`. Pure: no sockets, no clock, no state between calls.
 * @example
 * const reply = respond(authority, queryBytes, { transport: 'udp' });
 * if (reply.kind === 'reply') socket.send(reply.bytes, port, address);
 */
export function respond(authority: Authority, message: Buffer, options: RespondOptions): Reply {
  const parsed = parseQuery(message);
  // A response sent to us is ignored; anything else unreadable is garbage.
  if (parsed.kind === 'drop') return { kind: 'drop', reason: parsed.reason, malformed: !parsed.response };
  const udp = options.transport === 'udp';
  // The response copies the opcode and RD; Knot clears every other query flag (AA, TC, RA, Z, AD, CD).
  const baseFlags = FLAG_QR | (parsed.flags & 0x7800) | (parsed.flags & FLAG_RD);
  const question = parsed.question;
  const edns: QueryEdns | null = parsed.kind === 'query' ? parsed.edns : null;
  const maxSize = udp ? (edns ? clamp(edns.udpPayloadSize, 512, authority.maxUdpPayload) : 512) : 65535;
  const w = createMessageWriter({
    id: parsed.id,
    flags: baseFlags,
    maxSize,
    question: question ? { name: question.name, type: question.type, class: question.class } : null,
  });
  const opt: WireOpt | null = edns
    ? { udpPayloadSize: authority.maxUdpPayload, version: 0, flags: edns.flags & EDNS_DO, options: [] }
    : null;
  if (opt) w.reserve(optSize(opt));

  const finish = (rcode: number, ede?: number): Reply => {
    w.flags = (w.flags & ~0xf) | (rcode & 0xf);
    if (opt) {
      opt.extendedRcode = rcode >> 4;
      if (ede !== undefined) opt.options = [{ code: EDE_OPTION, data: Buffer.from([ede >> 8, ede & 0xff]) }];
      w.putOpt(opt);
    }
    return {
      kind: 'reply',
      malformed: parsed.kind === 'formerr',
      bytes: w.finish(),
      rcode: RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`,
      flags: w.flags,
      question,
      records: w.written(),
    };
  };

  if (parsed.kind === 'formerr' || !question) return finish(RCODE.FORMERR);
  if (edns && edns.version > 0) return finish(RCODE.BADVERS); // RFC 6891 §6.1.3
  if (parsed.opcode !== 0) {
    // NOTIFY and UPDATE are understood but not accepted from anyone (Knot: NOTAUTH); the rest is NOTIMP.
    return finish(parsed.opcode === 4 || parsed.opcode === 5 ? RCODE.NOTAUTH : RCODE.NOTIMP);
  }
  if (question.type === 0 || (question.type === QT.AXFR && udp)) return finish(RCODE.NOTIMP);
  // Zone transfers are refused to everyone, before any zone is looked up (Knot: NOTAUTH, as for a failed ACL).
  if (question.type === QT.AXFR || question.type === QT.IXFR) return finish(RCODE.NOTAUTH);
  const qname = lower(question.name);
  const zone = question.class === 1 || question.class === 255 ? findZone(authority, qname, question.type) : null;
  if (!zone) return finish(RCODE.REFUSED, EDE_NOT_AUTHORITATIVE);

  const ctx: Ctx = {
    w,
    zone,
    qname: question.name,
    qtype: question.type,
    sname: qname,
    node: null,
    udp,
    visited: new Set(),
    packet: [],
    rcode: RCODE.NOERROR,
  };
  const state = answerFromZone(ctx);
  if (state === 'error') {
    // Only when a TCP answer is over 65535 octets.
    return respondServfail(parsed.id, baseFlags, question, opt, maxSize);
  }
  return finish(ctx.rcode);
}

function respondServfail(
  id: number,
  flags: number,
  question: ParsedQuestion,
  opt: WireOpt | null,
  maxSize: number,
): Reply {
  const w = createMessageWriter({ id, flags: flags | RCODE.SERVFAIL, question, maxSize });
  if (opt) {
    w.reserve(optSize(opt));
    w.putOpt(opt);
  }
  return {
    kind: 'reply',
    malformed: false,
    bytes: w.finish(),
    rcode: 'SERVFAIL',
    flags: w.flags,
    question,
    records: [],
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** The records of a reply as DnsRecords (owners lowercased), for logs and tests. */
export function replyRecords(reply: Reply, section: 'answer' | 'authority' | 'additional'): DnsRecord[] {
  if (reply.kind !== 'reply') return [];
  return reply.records
    .filter((r) => r.section === section)
    .flatMap((r) =>
      r.rdata.map((data) => ({
        name: lower(r.name),
        type: typeName(typeCode(r.type)) as DnsRecord['type'],
        class: 'IN' as const,
        ttl: r.ttl,
        data,
      })),
    );
}
