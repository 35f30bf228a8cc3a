/**
 * @module lab/wire
 * The lab's DNS message codec. Encoding compresses names (RFC 1035 §4.1.4), which dns-packet's encoder does
 * not: without it the lab's answers would be larger than a real server's and truncate (RFC 1035 §4.2.1,
 * RFC 6891 §6.2.5) at different points. Owner names are always compressed; names inside RDATA only for the
 * RFC 1035 types whose RDATA may be compressed (NS, CNAME, SOA, PTR, MX; RFC 3597 §4 forbids it for newer
 * types). The compressor follows Knot DNS's algorithm (libknot `compr_put_dname`: one remembered suffix, plus
 * per-RRset hints such as "this owner is the QNAME") so that the lab's messages are byte-for-byte the size of
 * Knot's and truncate at the same record; a full suffix table would sometimes save a few more octets.
 * Decoding is `parseQuery`, which classifies an incoming query the way Knot does (drop, FORMERR, or a query).
 */
import dnsPacket from 'dns-packet';
import { MxError } from '../core/errors.js';

/** Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2). */
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
/** The EDNS DO bit (RFC 3225 §3), in the OPT TTL's low 16 bits. */
export const EDNS_DO = 0x8000;

const HEADER_SIZE = 12;
const MAX_MESSAGE = 65535;
// A compression pointer holds a 14-bit offset; names written past it cannot be pointed to.
const PTR_MAX = 0x3fff;
// Knot keeps 16 compression hints per RRset: the owner and the first name in the first 15 RRs' RDATA.
const HINT_COUNT = 16;

// RR type codes (IANA registry), for every type dns-packet knows plus SPF/URI.
// prettier-ignore
const TYPE_CODES: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, NULL: 10, HINFO: 13, PTR: 12, MX: 15, TXT: 16, RP: 17, AFSDB: 18, SIG: 24,
  KEY: 25, AAAA: 28, LOC: 29, SRV: 33, NAPTR: 35, KX: 36, CERT: 37, DNAME: 39, OPT: 41, APL: 42, DS: 43,
  SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52,
  HIP: 55, CDS: 59, CDNSKEY: 60, SPF: 99, TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, ANY: 255, URI: 256,
  CAA: 257, TA: 32768, DLV: 32769,
};
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([k, v]) => [v, k]));
const CLASS_CODES: Record<string, number> = { IN: 1, CS: 2, CH: 3, HS: 4, NONE: 254, ANY: 255 };

/** The numeric code of an RR type name (`MX`, `TYPE65280`, dns-packet's `UNKNOWN_65280`, or a number). */
export function typeCode(type: string | number): number {
  if (typeof type === 'number') return type;
  const upper = type.toUpperCase();
  const known = TYPE_CODES[upper];
  if (known !== undefined) return known;
  const m = /^(?:TYPE|UNKNOWN_)(\d+)$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new MxError('MX_INVALID_ARGUMENT', `unknown RR type ${JSON.stringify(type)}`);
}

/** The name of an RR type code, as dns-packet names it (`UNKNOWN_n` for codes it does not know). */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

function classCode(klass: string | number | undefined): number {
  if (klass === undefined) return 1;
  if (typeof klass === 'number') return klass;
  const code = CLASS_CODES[klass.toUpperCase()];
  if (code === undefined) throw new MxError('MX_INVALID_ARGUMENT', `unknown class ${JSON.stringify(klass)}`);
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/**
 * Splits a name into wire labels. Names are written `a.b.c` with or without the trailing dot; `\.` and `\\`
 * inside a label are a literal dot and backslash (dns-packet writes the SOA RNAME's local part that way), and
 * characters are octets (latin1), so a label read off the wire survives the round trip unchanged.
 */
export function nameLabels(name: string): Buffer[] {
  const labels: Buffer[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c === '\\' && i + 1 < name.length) {
      cur += name[i + 1];
      i++;
    } else if (c === '.') {
      if (cur === '' && (labels.length > 0 || i + 1 < name.length)) throw badName(name, 'empty label');
      if (cur !== '') labels.push(Buffer.from(cur, 'latin1'));
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur !== '') labels.push(Buffer.from(cur, 'latin1'));
  let total = 1;
  for (const l of labels) {
    if (l.length > 63) throw badName(name, `label of ${l.length} octets (at most 63)`);
    total += l.length + 1;
  }
  if (total > 255) throw badName(name, `${total} octets on the wire (at most 255)`);
  return labels;
}

function badName(name: string, why: string): MxError {
  return new MxError('MX_INVALID_ARGUMENT', `cannot encode name ${JSON.stringify(name)}: ${why}`);
}

/** Wire labels back to a name string, escaping `.` and `\` inside labels (the inverse of `nameLabels`). */
export function labelsToName(labels: Buffer[]): string {
  return labels.map((l) => l.toString('latin1').replace(/[\\.]/g, (c) => `\\${c}`)).join('.');
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

/** A set of records with one owner, type and class (RFC 2181 §5), written together or not at all. */
export interface WireRRset {
  name: string;
  type: string;
  class?: string | number;
  ttl: number;
  rdata: unknown[];
}

/**
 * Where an owner name may be written as a bare pointer, as Knot does: `qname` for the answer to the question
 * itself; `{rrset, rdata}` for an additional record whose owner is the name in RDATA number `rdata` of an RRset
 * already in the message (the id `put` returned).
 */
export type OwnerHint = 'qname' | { rrset: number; rdata: number };

export type Section = 'answer' | 'authority' | 'additional';

export interface PutOptions {
  ownerHint?: OwnerHint;
  /** Set TC when the RRset does not fit (RFC 2181 §9); otherwise it is silently left out. Default true. */
  truncate?: boolean;
}

export interface WireQuestion {
  name: string;
  type: string | number;
  class?: string | number;
}

/** An OPT pseudo-RR (RFC 6891 §6.1.2). `extendedRcode` is the upper 8 bits of the 12-bit RCODE. */
export interface WireOpt {
  udpPayloadSize: number;
  extendedRcode?: number;
  version?: number;
  flags?: number;
  options?: Array<{ code: number; data: Buffer }>;
}

/** What a writer has put in its message, for inspection and logs. */
export interface WrittenRRset extends WireRRset {
  id: number;
  section: Section;
}

export interface MessageWriter {
  /** Octets written so far. */
  readonly size: number;
  /** The 16-bit flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE). */
  flags: number;
  /**
   * Appends an RRset to a section (sections must be filled in order). Returns its id, or null when it does not
   * fit in the space left; then nothing of it is written and TC is set unless `truncate` is false.
   */
  put(section: Section, rrset: WireRRset, options?: PutOptions): number | null;
  /** Holds back octets (for the OPT RR) so that `put` leaves room for them. */
  reserve(octets: number): void;
  /** Writes the OPT RR at the end of the additional section, using the reserved room first. */
  putOpt(opt: WireOpt): boolean;
  /** The RRsets written, in order. */
  written(): WrittenRRset[];
  /** The finished message (a copy). */
  finish(): Buffer;
}

interface RRsetInfo {
  hints: number[];
}

interface Compression {
  pos: number;
  labels: number;
}

const SECTION_ORDER: Record<Section, number> = { answer: 0, authority: 1, additional: 2 };
const COUNT_OFFSET: Record<Section, number> = { answer: 6, authority: 8, additional: 10 };

/** The size of an OPT RR with these options. */
export function optSize(opt: Pick<WireOpt, 'options'>): number {
  return 11 + (opt.options ?? []).reduce((n, o) => n + 4 + o.data.length, 0);
}

class OutOfSpace extends Error {}

/**
 * Starts a message: header and (optional) question, uncompressed and with the question name's case kept, as
 * a server echoes it. `maxSize` bounds the message (512 for UDP without EDNS, the EDNS payload size with it,
 * 65535 over TCP).
 * @example
 * const w = createMessageWriter({ id: 1, flags: FLAG_QR | FLAG_AA, question: { name: 'example.com', type: 'MX' } });
 * w.put('answer', { name: 'example.com', type: 'MX', ttl: 300, rdata: [{ preference: 10, exchange: 'mail.example.com' }] }, { ownerHint: 'qname' });
 * const bytes = w.finish();
 */
export function createMessageWriter(init: {
  id: number;
  flags: number;
  question: WireQuestion | null;
  maxSize?: number;
}): MessageWriter {
  const maxSize = Math.min(init.maxSize ?? MAX_MESSAGE, MAX_MESSAGE);
  const buf = Buffer.alloc(MAX_MESSAGE);
  buf.writeUInt16BE(init.id & 0xffff, 0);
  let flags = init.flags & 0xffff;
  let size = HEADER_SIZE;
  let reserved = 0;
  let current: Section = 'answer';
  const infos: RRsetInfo[] = [];
  const rrsets: WrittenRRset[] = [];
  // Knot compresses only when the message has a QNAME to start from.
  let compr: Compression | null = null;

  if (init.question) {
    const labels = nameLabels(init.question.name);
    let at = HEADER_SIZE;
    for (const l of labels) {
      buf[at++] = l.length;
      l.copy(buf, at);
      at += l.length;
    }
    buf[at++] = 0;
    buf.writeUInt16BE(typeCode(init.question.type), at);
    buf.writeUInt16BE(classCode(init.question.class), at + 2);
    size = at + 4;
    if (size > maxSize) throw new MxError('MX_INVALID_ARGUMENT', 'the question does not fit in the message size');
    buf.writeUInt16BE(1, 4);
    compr = { pos: 0, labels: 0 };
  }
  const qnameLabels = init.question ? nameLabels(init.question.name).length : 0;

  // --- wire helpers over the message buffer (reads follow pointers) ---
  const seekLabel = (pos: number): number => {
    while ((buf[pos] as number) >= 0xc0) pos = buf.readUInt16BE(pos) & 0x3fff;
    return pos;
  };
  const nextLabel = (pos: number): number => seekLabel(pos + 1 + (buf[pos] as number));
  // Knot's label_is_equal: the name being written is compared with the lowercased label on the wire.
  const labelEquals = (label: Buffer, pos: number): boolean => {
    if (buf[pos] !== label.length) return false;
    for (let k = 0; k < label.length; k++) {
      const w = buf[pos + 1 + k] as number;
      const lower = w >= 0x41 && w <= 0x5a ? w + 0x20 : w;
      if (label[k] !== lower) return false;
    }
    return true;
  };

  function hintSet(info: RRsetInfo, index: number, at: number, len: number): void {
    if (compr && index < HINT_COUNT && at + len < PTR_MAX) info.hints[index] = at;
  }

  function need(at: number, n: number, limit: number): void {
    if (at + n > limit) throw new OutOfSpace();
  }

  function writeUncompressed(labels: Buffer[], at: number, limit: number): number {
    const start = at;
    for (const l of labels) {
      need(at, l.length + 1, limit);
      buf[at++] = l.length;
      l.copy(buf, at);
      at += l.length;
    }
    need(at, 1, limit);
    buf[at++] = 0;
    return at - start;
  }

  // libknot compr_put_dname: align the name with the remembered suffix, write the labels that differ, point at
  // the longest common tail, and remember this name as the new suffix when it was written out at length.
  function putName(labels: Buffer[], at: number, limit: number, compress: boolean): number {
    if (!compress || !compr || labels.length === 0) return writeUncompressed(labels, at, limit);
    let suffix = compr.pos;
    let suffixLabels = compr.labels;
    while (suffixLabels > labels.length) {
      suffix = nextLabel(suffix);
      suffixLabels--;
    }
    const start = at;
    let li = 0;
    const writeLabels = (from: number, to: number) => {
      for (let k = from; k <= to; k++) {
        const l = labels[k] as Buffer;
        need(at, l.length + 1, limit);
        buf[at++] = l.length;
        l.copy(buf, at);
        at += l.length;
      }
    };
    while (labels.length - li > suffixLabels) {
      writeLabels(li, li);
      li++;
    }
    let matchBegin = li;
    let pointer = suffix;
    while (li < labels.length) {
      const next = nextLabel(suffix);
      if (!labelEquals(labels[li] as Buffer, suffix)) {
        writeLabels(matchBegin, li);
        matchBegin = li + 1;
        pointer = next;
      }
      li++;
      suffix = next;
    }
    if (matchBegin === labels.length) {
      need(at, 1, limit);
      buf[at++] = 0;
    } else {
      need(at, 2, limit);
      buf.writeUInt16BE(0xc000 | pointer, at);
      at += 2;
    }
    const written = at - start;
    if (written > 2 && start + written < PTR_MAX) compr = { pos: start, labels: labels.length };
    return written;
  }

  // Knot's name equality for owners: every label of `labels` against the (possibly compressed) name at pos.
  function nameEqualsAt(labels: Buffer[], pos: number): boolean {
    let p = seekLabel(pos);
    for (const l of labels) {
      if (!labelEquals(l, p)) return false;
      p = nextLabel(p);
    }
    return buf[p] === 0;
  }

  // libknot write_owner: a hinted pointer, else a pointer to the last suffix when the owner is that very name,
  // else compress against the QNAME.
  function writeOwner(labels: Buffer[], info: RRsetInfo, at: number, limit: number): number {
    const hint = labels.length > 0 ? (info.hints[0] ?? 0) : 0;
    if (hint > 0) {
      // The hint may mark a name that was itself written as a pointer; point at the labels it leads to,
      // as Knot does (it never writes a pointer to a pointer).
      need(at, 2, limit);
      buf.writeUInt16BE(0xc000 | seekLabel(hint), at);
      return 2;
    }
    if (compr && compr.pos !== 0 && labels.length > 0 && nameEqualsAt(labels, compr.pos)) {
      need(at, 2, limit);
      buf.writeUInt16BE(0xc000 | compr.pos, at);
      hintSet(info, 0, compr.pos, 2);
      return 2;
    }
    if (compr) compr = { pos: HEADER_SIZE, labels: qnameLabels };
    const written = putName(labels, at, limit, true);
    hintSet(info, 0, at, written);
    return written;
  }

  function writeRdata(type: number, data: unknown, info: RRsetInfo, hint: number, at: number, limit: number): number {
    const start = at;
    need(at, 2, limit);
    at += 2;
    const name = (value: unknown, compress: boolean) => {
      const labels = nameLabels(String(value));
      const written = putName(labels, at, limit, compress);
      if ((info.hints[hint] ?? 0) === 0) hintSet(info, hint, at, written);
      at += written;
    };
    const u16 = (v: unknown) => {
      need(at, 2, limit);
      buf.writeUInt16BE(Number(v) & 0xffff, at);
      at += 2;
    };
    const u32 = (v: unknown) => {
      need(at, 4, limit);
      buf.writeUInt32BE(Number(v) >>> 0, at);
      at += 4;
    };
    const bytes = (b: Buffer) => {
      need(at, b.length, limit);
      b.copy(buf, at);
      at += b.length;
    };
    const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
    switch (type) {
      case 2: // NS
      case 5: // CNAME
      case 12: // PTR
        name(data, true);
        break;
      case 15: // MX
        u16(d.preference);
        name(d.exchange, true);
        break;
      case 6: // SOA
        name(d.mname, true);
        name(d.rname, true);
        for (const f of ['serial', 'refresh', 'retry', 'expire', 'minimum']) u32(d[f]);
        break;
      case 33: // SRV: the target is never compressed (RFC 2782), but Knot still remembers where it is.
        u16(d.priority);
        u16(d.weight);
        u16(d.port);
        name(d.target, false);
        break;
      case 16: // TXT, written here because dns-packet's encoder rewrites the caller's array
        for (const s of Array.isArray(data) ? (data as unknown[]) : [data]) {
          const b = Buffer.isBuffer(s) ? s : Buffer.from(String(s), 'utf8');
          if (b.length > 255) throw new MxError('MX_INVALID_ARGUMENT', 'a TXT string is over 255 octets');
          bytes(Buffer.concat([Buffer.from([b.length]), b]));
        }
        break;
      case 257: {
        // CAA, written here because dns-packet's encoder rewrites the caller's flags
        const tag = Buffer.from(String(d.tag), 'latin1');
        const caaFlags = typeof d.flags === 'number' ? d.flags : d.issuerCritical ? 0x80 : 0;
        bytes(Buffer.concat([Buffer.from([caaFlags & 0xff, tag.length]), tag, Buffer.from(String(d.value), 'utf8')]));
        break;
      }
      default: {
        const codec = rdataCodec(type);
        const length = codec.encodingLength(data);
        need(start, length, limit);
        codec.encode(data, buf, start);
        return length;
      }
    }
    const rdlength = at - start - 2;
    if (rdlength > 0xffff) throw new MxError('MX_INVALID_ARGUMENT', 'RDATA over 65535 octets');
    buf.writeUInt16BE(rdlength, start);
    return at - start;
  }

  function put(section: Section, rrset: WireRRset, options: PutOptions = {}): number | null {
    if (SECTION_ORDER[section] < SECTION_ORDER[current]) {
      throw new MxError('MX_INVALID_ARGUMENT', `cannot go back to the ${section} section`);
    }
    current = section;
    const info: RRsetInfo = { hints: new Array<number>(HINT_COUNT).fill(0) };
    const hint = options.ownerHint;
    if (compr) {
      if (hint === 'qname') info.hints[0] = HEADER_SIZE;
      else if (hint !== undefined && hint.rdata + 1 < HINT_COUNT) {
        info.hints[0] = infos[hint.rrset]?.hints[hint.rdata + 1] ?? 0;
      }
      if (compr.pos === 0) compr = { pos: HEADER_SIZE, labels: qnameLabels };
    }
    const type = typeCode(rrset.type);
    const klass = classCode(rrset.class);
    const owner = nameLabels(rrset.name);
    const limit = maxSize - reserved;
    let at = size;
    try {
      rrset.rdata.forEach((data, i) => {
        at += writeOwner(owner, info, at, limit);
        need(at, 8, limit);
        buf.writeUInt16BE(type, at);
        buf.writeUInt16BE(klass, at + 2);
        buf.writeUInt32BE(rrset.ttl >>> 0, at + 4);
        at += 8;
        at += writeRdata(type, data, info, i + 1, at, limit);
      });
    } catch (err) {
      if (!(err instanceof OutOfSpace)) throw err;
      if (options.truncate ?? true) flags |= FLAG_TC;
      return null;
    }
    if (rrset.rdata.length === 0) return null;
    size = at;
    const offset = COUNT_OFFSET[section];
    buf.writeUInt16BE(buf.readUInt16BE(offset) + rrset.rdata.length, offset);
    infos.push(info);
    const id = infos.length - 1;
    rrsets.push({ ...rrset, id, section });
    return id;
  }

  return {
    get size() {
      return size;
    },
    get flags() {
      return flags;
    },
    set flags(value: number) {
      flags = value & 0xffff;
    },
    put,
    reserve(octets: number) {
      reserved += octets;
    },
    putOpt(opt: WireOpt) {
      const need = optSize(opt);
      reserved = Math.max(0, reserved - need);
      if (size + need > maxSize - reserved) return false;
      let at = size;
      buf[at++] = 0;
      buf.writeUInt16BE(41, at);
      buf.writeUInt16BE(opt.udpPayloadSize & 0xffff, at + 2);
      buf[at + 4] = (opt.extendedRcode ?? 0) & 0xff;
      buf[at + 5] = (opt.version ?? 0) & 0xff;
      buf.writeUInt16BE((opt.flags ?? 0) & 0xffff, at + 6);
      buf.writeUInt16BE(need - 11, at + 8);
      at += 10;
      for (const o of opt.options ?? []) {
        buf.writeUInt16BE(o.code, at);
        buf.writeUInt16BE(o.data.length, at + 2);
        o.data.copy(buf, at + 4);
        at += 4 + o.data.length;
      }
      size = at;
      current = 'additional';
      buf.writeUInt16BE(buf.readUInt16BE(10) + 1, 10);
      return true;
    },
    written: () => rrsets.slice(),
    finish() {
      buf.writeUInt16BE(flags, 2);
      return Buffer.from(buf.subarray(0, size));
    },
  };
}

interface RdataCodec {
  encode(data: unknown, buf: Buffer, offset: number): Buffer;
  encodingLength(data: unknown): number;
}

function rdataCodec(type: number): RdataCodec {
  const lib = dnsPacket as unknown as { record(type: string): RdataCodec };
  return lib.record(typeName(type));
}

/**
 * The uncompressed RDATA of one record (no RDLENGTH), with names in the case given. Knot keeps each RRset's
 * records sorted by these octets (RFC 4034 §6.3 order for lowercase names), so answers list them in this order.
 */
export function encodeRdata(type: string, data: unknown): Buffer {
  const w = createMessageWriter({ id: 0, flags: 0, question: null });
  w.put('answer', { name: '', type, ttl: 0, rdata: [data] });
  const msg = w.finish();
  // header (12) + root owner (1) + type, class, ttl (8) + rdlength (2)
  return Buffer.from(msg.subarray(HEADER_SIZE + 1 + 8 + 2));
}

/** A record as dns-packet shapes it, for `encodeMessage`. OPT records carry their EDNS fields. */
export interface WireMessageRecord {
  name: string;
  type: string;
  class?: string | number;
  ttl?: number;
  data?: unknown;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flags?: number;
  options?: Array<{ code: number; data?: Buffer }>;
}

/** A message in dns-packet's shape (`dnsPacket.Packet`), for `encodeMessage`. */
export interface WireMessage {
  id?: number;
  type?: 'query' | 'response';
  flags?: number;
  questions?: WireQuestion[];
  answers?: WireMessageRecord[];
  authorities?: WireMessageRecord[];
  additionals?: WireMessageRecord[];
}

/**
 * Encodes a whole message in dns-packet's shape, with name compression: a drop-in for `dnsPacket.encode`
 * whose output `dnsPacket.decode` reads back. Consecutive records with one owner, type and class are written
 * as one RRset. Only the first question is used for compression; a message without one is not compressed.
 * @example encodeMessage({ id: 1, type: 'response', flags: FLAG_AA, questions: [{ name: 'example.com', type: 'MX' }], answers })
 */
export function encodeMessage(message: WireMessage): Buffer {
  const questions = message.questions ?? [];
  if (questions.length > 1) throw new MxError('MX_INVALID_ARGUMENT', 'encodeMessage writes at most one question');
  const flags = ((message.flags ?? 0) & 0x7fff) | (message.type === 'response' ? FLAG_QR : 0);
  const w = createMessageWriter({ id: message.id ?? 0, flags, question: questions[0] ?? null });
  const sections: Array<[Section, WireMessageRecord[]]> = [
    ['answer', message.answers ?? []],
    ['authority', message.authorities ?? []],
    ['additional', message.additionals ?? []],
  ];
  let opt: WireOpt | null = null;
  for (const [section, records] of sections) {
    let group: WireRRset | null = null;
    const flush = () => {
      if (group && w.put(section, group, { truncate: false }) === null) {
        throw new MxError('MX_INVALID_ARGUMENT', 'the message is over 65535 octets');
      }
      group = null;
    };
    for (const r of records) {
      if (r.type.toUpperCase() === 'OPT') {
        opt = {
          udpPayloadSize: r.udpPayloadSize ?? 4096,
          extendedRcode: r.extendedRcode ?? 0,
          version: r.ednsVersion ?? 0,
          flags: r.flags ?? 0,
          options: (r.options ?? []).map((o) => ({ code: o.code, data: o.data ?? Buffer.alloc(0) })),
        };
        continue;
      }
      const g = group;
      if (
        g &&
        g.name.toLowerCase() === r.name.toLowerCase() &&
        typeCode(g.type) === typeCode(r.type) &&
        classCode(g.class) === classCode(r.class)
      ) {
        g.rdata.push(r.data);
        continue;
      }
      flush();
      group = {
        name: r.name,
        type: r.type,
        ttl: r.ttl ?? 0,
        rdata: [r.data],
        ...(r.class === undefined ? {} : { class: r.class }),
      };
    }
    flush();
  }
  if (opt) {
    w.reserve(optSize(opt));
    w.putOpt(opt);
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

/** The EDNS data of a query (RFC 6891 §6.1.3). */
export interface QueryEdns {
  udpPayloadSize: number;
  version: number;
  /** The OPT TTL's low 16 bits (the DO bit is EDNS_DO). */
  flags: number;
}

export interface ParsedQuestion {
  /** The QNAME as sent (case kept), escaped as `labelsToName` does. */
  name: string;
  type: number;
  class: number;
}

/**
 * What a server makes of the octets it received, as Knot classifies them: `drop` (no reply at all: too short,
 * a response, a question that cannot be read, more than one question), `formerr` (the header and question are
 * readable but the rest is not; reply FORMERR), or a `query` to answer.
 */
export type ParsedQuery =
  | { kind: 'drop'; reason: string; response: boolean }
  | { kind: 'formerr'; id: number; flags: number; question: ParsedQuestion | null; reason: string }
  | {
      kind: 'query';
      id: number;
      flags: number;
      opcode: number;
      question: ParsedQuestion | null;
      edns: QueryEdns | null;
    };

// Skips a possibly compressed name in a received message; -1 when it is malformed. Pointers must point
// backwards (RFC 1035 §4.1.4 "a prior occurrence"), which also rules out loops.
function skipName(msg: Buffer, at: number): number {
  let total = 1;
  let p = at;
  let end = -1;
  let limit = at;
  for (;;) {
    if (p >= msg.length) return -1;
    const len = msg[p] as number;
    if (len === 0) return end === -1 ? p + 1 : end;
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= msg.length) return -1;
      const target = msg.readUInt16BE(p) & 0x3fff;
      if (target >= limit) return -1;
      if (end === -1) end = p + 2;
      limit = target;
      p = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return -1;
    total += len + 1;
    if (total > 255 || p + 1 + len > msg.length) return -1;
    p += 1 + len;
  }
}

/**
 * Classifies and reads an incoming query (RFC 1035 §4.1). Never throws on bad input.
 * @example parseQuery(bytes) // { kind: 'query', id, flags, opcode: 0, question: { name: 'example.com', type: 15, class: 1 }, edns: null }
 */
export function parseQuery(msg: Buffer): ParsedQuery {
  const drop = (reason: string): ParsedQuery => ({ kind: 'drop', reason, response: false });
  if (msg.length < HEADER_SIZE) return drop('shorter than a DNS header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & FLAG_QR) return { kind: 'drop', reason: 'a response, not a query', response: true };
  const qdcount = msg.readUInt16BE(4);
  if (qdcount > 1) return drop(`${qdcount} questions`);
  let at = HEADER_SIZE;
  let question: ParsedQuestion | null = null;
  if (qdcount === 1) {
    // The QNAME must be plain labels: nothing precedes it to point to.
    const labels: Buffer[] = [];
    let total = 1;
    for (;;) {
      if (at >= msg.length) return drop('question cut short');
      const len = msg[at] as number;
      if (len === 0) {
        at++;
        break;
      }
      if (len > 63) return drop('compressed or malformed QNAME');
      total += len + 1;
      if (total > 255 || at + 1 + len > msg.length) return drop('QNAME too long or cut short');
      labels.push(msg.subarray(at + 1, at + 1 + len));
      at += 1 + len;
    }
    if (at + 4 > msg.length) return drop('question cut short');
    question = { name: labelsToName(labels), type: msg.readUInt16BE(at), class: msg.readUInt16BE(at + 2) };
    at += 4;
  }
  const formerr = (reason: string): ParsedQuery => ({ kind: 'formerr', id, flags, question, reason });
  let edns: QueryEdns | null = null;
  const counts = [msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  for (const [section, count] of counts.entries()) {
    for (let k = 0; k < (count ?? 0); k++) {
      const end = skipName(msg, at);
      if (end < 0 || end + 10 > msg.length) return formerr('malformed record');
      const type = msg.readUInt16BE(end);
      const rdlength = msg.readUInt16BE(end + 8);
      const next = end + 10 + rdlength;
      if (next > msg.length) return formerr('RDATA runs past the end');
      if (type === 41) {
        // RFC 6891 §6.1.1: one OPT, in the additional section, with well-formed options.
        if (section !== 2 || edns) return formerr('misplaced or repeated OPT');
        for (let o = end + 10; o < next;) {
          if (o + 4 > next || o + 4 + msg.readUInt16BE(o + 2) > next) return formerr('malformed EDNS option');
          o += 4 + msg.readUInt16BE(o + 2);
        }
        edns = {
          udpPayloadSize: msg.readUInt16BE(end + 2),
          version: msg[end + 5] as number,
          flags: msg.readUInt16BE(end + 6),
        };
      }
      at = next;
    }
  }
  if (at !== msg.length) return formerr('trailing octets after the last record');
  return { kind: 'query', id, flags, opcode: (flags >> 11) & 0xf, question, edns };
}
