/**
 * @module dns/fast-codec
 * A hand-written codec for the messages bulk resolution lives on: one-question queries, and responses whose
 * records are all of the common types (A, AAAA, MX, CNAME, NS, PTR, SOA, an OPT without options).
 *
 * Written by hand because dns-packet, which stays the reference codec, builds generic objects for every field
 * and costs about 20 µs per response, more than the socket work of a query; a scan spends most of its time
 * there. This codec reads straight into the `DnsResponse` shape that `decodeResponse` makes from dns-packet's
 * output, and gives up (returns null) on anything it does not cover or that is not exactly well-formed, so the
 * caller falls back to dns-packet, which then decides (and reports malformed bytes in its own words). Its
 * results are checked against dns-packet on the same bytes, valid and mangled (fast-codec.test.ts).
 */
import type { RecordType } from 'dns-packet';
import type { DnsQuestion, DnsRecord, DnsResponse } from './types.js';

const TYPE_CODES: Partial<Record<RecordType, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DS: 43,
  DNSKEY: 48,
  TLSA: 52,
  CAA: 257,
};
const OPT = 41;

/** Types whose rdata this codec decodes; any other type in a response sends it to dns-packet. */
const DECODED: ReadonlyMap<number, RecordType> = new Map<number, RecordType>([
  [1, 'A'],
  [2, 'NS'],
  [5, 'CNAME'],
  [6, 'SOA'],
  [12, 'PTR'],
  [15, 'MX'],
  [28, 'AAAA'],
]);
/** Question types this codec names (the question carries no rdata, so any named type will do). */
const QUESTION_TYPES: ReadonlyMap<number, RecordType> = new Map(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as RecordType]),
);

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export interface FastQueryOptions {
  id: number;
  recursionDesired: boolean;
  checkingDisabled: boolean;
  /** The EDNS0 UDP size to advertise, or null for no OPT record. */
  ednsUdpSize: number | null;
  dnssecOk: boolean;
}

/**
 * Encodes a one-question query (class IN), or returns null when the name or type is outside what this codec
 * writes (a non-ASCII or over-long label, an uncommon type): the caller then uses dns-packet. The bytes are
 * the ones dns-packet writes for the same query.
 */
export function encodeQueryFast(question: DnsQuestion, options: FastQueryOptions): Buffer | null {
  const type = TYPE_CODES[question.type];
  if (type === undefined) return null;
  const name = question.name;
  if (name.length > 253) return null;
  const nameBytes = name === '' ? 1 : name.length + 2;
  const size = 12 + nameBytes + 4 + (options.ednsUdpSize === null ? 0 : 11);
  const buf = Buffer.allocUnsafe(size);
  let flags = 0;
  if (options.recursionDesired) flags |= 0x0100;
  if (options.checkingDisabled) flags |= 0x0010;
  buf.writeUInt16BE(options.id, 0);
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt32BE(0, 6);
  buf.writeUInt16BE(options.ednsUdpSize === null ? 0 : 1, 10);
  let at = 12;
  if (name !== '') {
    let lengthAt = at++;
    let length = 0;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) return null;
      if (c === 0x2e) {
        if (length === 0 || length > 63) return null;
        buf[lengthAt] = length;
        lengthAt = at++;
        length = 0;
        continue;
      }
      buf[at++] = c;
      length++;
    }
    if (length === 0 || length > 63) return null;
    buf[lengthAt] = length;
  }
  buf[at++] = 0;
  buf.writeUInt16BE(type, at);
  buf.writeUInt16BE(1, at + 2);
  at += 4;
  if (options.ednsUdpSize !== null) {
    buf[at] = 0;
    buf.writeUInt16BE(OPT, at + 1);
    buf.writeUInt16BE(options.ednsUdpSize, at + 3);
    buf.writeUInt32BE(options.dnssecOk ? 0x8000 : 0, at + 5);
    buf.writeUInt16BE(0, at + 9);
  }
  return buf;
}

/**
 * Walks a possibly compressed name at `offset` (RFC 1035 §4.1.4) by dns-packet's rules — pointers only to
 * earlier octets, at most 254 octets of labels, no 0x40/0x80 label types — calling `label` with each label's
 * octet range. Returns the offset just after the name at its place, or -1 when a rule is broken.
 */
function walkName(buf: Buffer, offset: number, label: (start: number, end: number) => void): number {
  let at = offset;
  let floor = offset;
  let next = -1;
  let total = 0;
  for (;;) {
    if (at >= buf.length) return -1;
    const len = buf[at]!;
    if (len === 0) return next < 0 ? at + 1 : next;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) return -1;
      const target = ((len & 0x3f) << 8) | buf[at + 1]!;
      if (target >= floor) return -1;
      if (next < 0) next = at + 2;
      at = target;
      floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return -1;
    const end = at + 1 + len;
    if (end > buf.length) return -1;
    total += len + 1;
    if (total > 254) return -1;
    label(at + 1, end);
    at = end;
  }
}

/** Room for the longest name: 254 octets of labels and length bytes. */
const SCRATCH = Buffer.alloc(512);

/** The state of `copyLabel`: one function for every name, not a closure made per name (a scan reads millions). */
const copying = { buf: SCRATCH as Buffer, n: 0, plain: true, mail: false };

/** Appends a label to the name in SCRATCH, lowercased; notes whether the name stays plain ASCII. */
function copyLabel(start: number, end: number): void {
  const { buf } = copying;
  let n = copying.n;
  if (n > 0) SCRATCH[n++] = 0x2e;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80 || (copying.mail && c === 0x2e)) copying.plain = false;
    SCRATCH[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  copying.n = n;
}

/**
 * The names read so far from one message, by offset: a name that is nothing but a pointer to one of them (the
 * owner of each answer, which points at the question) is the same string, found again instead of read again.
 * Kept in arrays of a fixed size, reused from message to message (emptied arrays would be grown anew for each).
 * `next` is where the name `readName` returned last ends at its place (a result object per name would be
 * garbage: a scan reads millions).
 */
const READ_AT_MOST = 16;
const readAt = {
  count: 0,
  offsets: new Int32Array(READ_AT_MOST),
  names: new Array<string>(READ_AT_MOST).fill(''),
  next: 0,
};

/** Starts reading a message: forgets the names of the one before (set anew for every decode). */
function startMessage(): void {
  readAt.count = 0;
}

/**
 * Reads a name (see `walkName`), lowercase as `decodeResponse` compares names, and sets `readAt.next` to the end
 * of its octets at its place. `mail` escapes dots inside labels as dns-packet does for an SOA RNAME. Null when
 * the name breaks a rule.
 */
function readName(buf: Buffer, offset: number, mail: boolean): string | null {
  if (!mail && offset + 1 < buf.length && (buf[offset]! & 0xc0) === 0xc0) {
    const target = ((buf[offset]! & 0x3f) << 8) | buf[offset + 1]!;
    // A pointer to an earlier name read whole (and so checked) is that name: walkName would walk the same way.
    if (target < offset) {
      for (let i = 0; i < readAt.count; i++) {
        if (readAt.offsets[i] === target) {
          readAt.next = offset + 2;
          return readAt.names[i]!;
        }
      }
    }
  }
  // The common case in one pass: ASCII labels copied, lowercased, into a scratch buffer and read out as one
  // string. Anything else (non-ASCII octets, a dot inside an RNAME label) takes the label-by-label path.
  copying.buf = buf;
  copying.n = 0;
  copying.plain = true;
  copying.mail = mail;
  const next = walkName(buf, offset, copyLabel);
  if (next < 0) return null;
  if (!copying.plain) return readNameSlow(buf, offset, mail);
  const n = copying.n;
  const name = n === 0 ? '' : SCRATCH.toString('latin1', 0, n);
  if (!mail && readAt.count < READ_AT_MOST) {
    readAt.offsets[readAt.count] = offset;
    readAt.names[readAt.count++] = name;
  }
  readAt.next = next;
  return name;
}

/** `readName` label by label, for names with non-ASCII octets or dots to escape. */
function readNameSlow(buf: Buffer, offset: number, mail: boolean): string | null {
  let name = '';
  const next = walkName(buf, offset, (start, end) => {
    let label = buf.toString('utf8', start, end);
    if (mail && label.includes('.')) label = label.replace(/\./g, '\\.');
    name = name === '' ? label : `${name}.${label}`;
  });
  // dns-packet lowercases nothing; `decodeResponse` lowercases and drops the root's dot (canonicalName).
  if (next < 0) return null;
  readAt.next = next;
  return name.toLowerCase();
}

function formatIpv6(buf: Buffer, at: number): string {
  // ip-codec's format, which dns-packet uses: hex groups, the first run of zero groups folded to "::".
  let text = '';
  for (let i = 0; i < 16; i += 2) {
    if (i !== 0) text += ':';
    text += ((buf[at + i]! << 8) | buf[at + i + 1]!).toString(16);
  }
  return text.replace(/(^|:)0(:0)*:0(:|$)/, '$1::$3').replace(/:{3,4}/, '::');
}

/** Reads the rdata of a decoded type; null unless it fills its RDLENGTH exactly. */
function readData(buf: Buffer, type: number, at: number, end: number): unknown {
  switch (type) {
    case 1:
      return end - at === 4 ? `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}` : null;
    case 28:
      return end - at === 16 ? formatIpv6(buf, at) : null;
    case 15: {
      if (end - at < 3) return null;
      const exchange = readName(buf, at + 2, false);
      if (exchange === null || readAt.next !== end) return null;
      return { preference: buf.readUInt16BE(at), exchange };
    }
    case 2:
    case 5:
    case 12: {
      const target = readName(buf, at, false);
      return target !== null && readAt.next === end ? target : null;
    }
    case 6: {
      const mname = readName(buf, at, false);
      if (mname === null) return null;
      const rname = readName(buf, readAt.next, true);
      if (rname === null || readAt.next + 20 !== end) return null;
      const n = readAt.next;
      return {
        mname,
        rname,
        serial: buf.readUInt32BE(n),
        refresh: buf.readUInt32BE(n + 4),
        retry: buf.readUInt32BE(n + 8),
        expire: buf.readUInt32BE(n + 12),
        minimum: buf.readUInt32BE(n + 16),
      };
    }
    default:
      return null;
  }
}

/** Reads `count` records from `at`; null when one is not covered or not well-formed. OPT records go to `opt`. */
function readRecords(
  buf: Buffer,
  at: number,
  count: number,
  list: DnsRecord[],
  opt: { found: { udpSize: number; extendedRcode: number } | null } | null,
): number {
  for (let i = 0; i < count; i++) {
    const owner = readName(buf, at, false);
    if (owner === null || readAt.next + 10 > buf.length) return -1;
    const head = readAt.next;
    const type = buf.readUInt16BE(head);
    const klass = buf.readUInt16BE(head + 2);
    const ttl = buf.readUInt32BE(head + 4);
    const start = head + 10;
    const end = start + buf.readUInt16BE(head + 8);
    if (end > buf.length) return -1;
    at = end;
    if (type === OPT) {
      if (end !== start) return -1; // EDNS options: dns-packet's business
      if (opt && opt.found === null) opt.found = { udpSize: klass, extendedRcode: ttl >>> 24 };
      continue;
    }
    const name = DECODED.get(type);
    if (name === undefined) return -1;
    const data = readData(buf, type, start, end);
    if (data === null) return -1;
    // The top bit of the class is mDNS's cache-flush bit to dns-packet; class IN only, as decodeResponse keeps.
    if ((klass & 0x7fff) !== 1) continue;
    list.push({ name: owner, type: name, class: 'IN', ttl, data });
  }
  return at;
}

const NO_LABEL = (): void => undefined;

/**
 * Checks an additional section of addresses only (A, AAAA, an OPT without options: what a server adds after an
 * MX or NS answer) without decoding it: its OPT, or null when the section holds anything else or is not
 * well-formed (then it is decoded at once, as the other sections are).
 */
function checkAddresses(
  buf: Buffer,
  at: number,
  count: number,
): { opt: { udpSize: number; extendedRcode: number } | null } | null {
  let opt: { udpSize: number; extendedRcode: number } | null = null;
  for (let i = 0; i < count; i++) {
    const head = walkName(buf, at, NO_LABEL);
    if (head < 0 || head + 10 > buf.length) return null;
    const type = buf.readUInt16BE(head);
    const length = buf.readUInt16BE(head + 8);
    const end = head + 10 + length;
    if (end > buf.length) return null;
    if (type === OPT) {
      if (length !== 0) return null;
      opt ??= { udpSize: buf.readUInt16BE(head + 2), extendedRcode: buf.readUInt32BE(head + 4) >>> 24 };
    } else if (!((type === 1 && length === 4) || (type === 28 && length === 16))) return null;
    at = end;
  }
  return { opt };
}

/**
 * Decodes a response the way `decodeResponse` does through dns-packet, or returns null when the message holds
 * anything this codec does not cover or is not well-formed: the caller then decodes it with dns-packet.
 * An additional section of addresses only is checked at once and decoded when first read: a bulk resolver
 * asking MX questions gets a glue address or more with each answer and never reads them.
 */
export function decodeResponseFast(buf: Buffer): DnsResponse | null {
  if (buf.length < 12) return null;
  startMessage();
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return null;
  if (buf.readUInt16BE(4) !== 1) return null;
  const qname = readName(buf, 12, false);
  const qend = readAt.next;
  if (qname === null || qend + 4 > buf.length) return null;
  const qtype = QUESTION_TYPES.get(buf.readUInt16BE(qend));
  if (qtype === undefined) return null;
  const answers: DnsRecord[] = [];
  const authority: DnsRecord[] = [];
  // An OPT counts in the additional section only (as `decodeResponse` has it); elsewhere it is passed over.
  let at = readRecords(buf, qend + 4, buf.readUInt16BE(6), answers, null);
  if (at >= 0) at = readRecords(buf, at, buf.readUInt16BE(8), authority, null);
  if (at < 0) return null;
  const extra = buf.readUInt16BE(10);
  let additional: DnsRecord[] | null = null;
  let opt: { udpSize: number; extendedRcode: number } | null;
  const addresses = extra > 0 ? checkAddresses(buf, at, extra) : null;
  if (addresses) opt = addresses.opt;
  else {
    additional = [];
    const additionalOpt: { found: { udpSize: number; extendedRcode: number } | null } = { found: null };
    if (readRecords(buf, at, extra, additional, additionalOpt) < 0) return null;
    opt = additionalOpt.found;
  }
  const code = opt ? (opt.extendedRcode << 4) | (flags & 0xf) : flags & 0xf;
  const rcode = RCODES[code];
  if (rcode === undefined) return null;
  const header = {
    id: buf.readUInt16BE(0),
    rcode,
    flags: {
      qr: true,
      aa: (flags & 0x0400) !== 0,
      tc: (flags & 0x0200) !== 0,
      rd: (flags & 0x0100) !== 0,
      ra: (flags & 0x0080) !== 0,
      ad: (flags & 0x0020) !== 0,
      cd: (flags & 0x0010) !== 0,
    },
    question: { name: qname, type: qtype },
    answers,
    authority,
  };
  const edns = opt ? opt.udpSize : null;
  if (additional === null) return new LazyResponse(header, buf, at, extra, edns);
  return { ...header, additional, ednsUdpSize: edns, size: buf.length };
}

/**
 * A response whose additional section (addresses only, checked well-formed) is decoded when first read. The
 * message is kept as the view it came in: every read of a socket is a new buffer, never written again. As
 * JSON it is the plain response.
 */
class LazyResponse implements DnsResponse {
  readonly id: number;
  readonly rcode: string;
  readonly flags: DnsResponse['flags'];
  readonly question: DnsQuestion;
  readonly answers: DnsRecord[];
  readonly authority: DnsRecord[];
  readonly ednsUdpSize: number | null;
  readonly size: number;
  #additional: DnsRecord[] | null = null;
  #bytes: Buffer | null;
  readonly #at: number;
  readonly #count: number;

  constructor(
    header: Pick<DnsResponse, 'id' | 'rcode' | 'flags' | 'question' | 'answers' | 'authority'>,
    bytes: Buffer,
    at: number,
    count: number,
    ednsUdpSize: number | null,
  ) {
    this.id = header.id;
    this.rcode = header.rcode;
    this.flags = header.flags;
    this.question = header.question;
    this.answers = header.answers;
    this.authority = header.authority;
    this.ednsUdpSize = ednsUdpSize;
    this.size = bytes.length;
    this.#bytes = bytes;
    this.#at = at;
    this.#count = count;
  }

  get additional(): DnsRecord[] {
    if (this.#additional === null) {
      const list: DnsRecord[] = [];
      startMessage();
      readRecords(this.#bytes!, this.#at, this.#count, list, null); // checked well-formed (checkAddresses)
      this.#additional = list;
      this.#bytes = null;
    }
    return this.#additional;
  }

  set additional(records: DnsRecord[]) {
    this.#additional = records;
    this.#bytes = null;
  }

  toJSON(): DnsResponse {
    return {
      id: this.id,
      rcode: this.rcode,
      flags: this.flags,
      question: this.question,
      answers: this.answers,
      authority: this.authority,
      additional: this.additional,
      ednsUdpSize: this.ednsUdpSize,
      size: this.size,
    };
  }
}
