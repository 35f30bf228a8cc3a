/**
 * @module dns/message
 * Queries and responses on the wire, over dns-packet (RFC 1035 §4, EDNS0 per RFC 6891). Decoding turns
 * whatever arrives into a typed `DnsResponse` or throws MX_DNS_BAD_WIRE; callers drop what does not decode.
 */
import type DnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { MxError } from '../core/errors.js';
import { decodeResponseFast, encodeQueryFast } from './fast-codec.js';
import { canonicalName } from './name.js';
import type { DnsQuestion, DnsRecord, DnsResponse } from './types.js';

/** The EDNS0 UDP payload size we advertise: the DNS Flag Day 2020 value, safe from IP fragmentation. */
export const EDNS_UDP_SIZE = 1232;

export interface QueryOptions {
  /** Message ID; a fresh random one by default. */
  id?: number;
  /** Send an EDNS0 OPT record (default true). */
  edns?: boolean;
  /** Ask for DNSSEC records (DO bit). */
  dnssecOk?: boolean;
  /** Recursion desired (default true). */
  recursionDesired?: boolean;
  /** Checking disabled (RFC 4035 §3.2.2). */
  checkingDisabled?: boolean;
}

/** A fresh query ID from the CSPRNG (RFC 5452 §9.2: IDs must be unpredictable). */
export function randomQueryId(): number {
  return randomInt(0, 0x10000);
}

/** Encodes a query for one question. */
export function encodeQuery(question: DnsQuestion, options: QueryOptions = {}): { id: number; bytes: Buffer } {
  const id = options.id ?? randomQueryId();
  const fast = encodeQueryFast(question, {
    id,
    recursionDesired: options.recursionDesired ?? true,
    checkingDisabled: options.checkingDisabled ?? false,
    ednsUdpSize: (options.edns ?? true) ? EDNS_UDP_SIZE : null,
    dnssecOk: options.dnssecOk ?? false,
  });
  return { id, bytes: fast ?? encodeQueryReference(question, { ...options, id }) };
}

/**
 * dns-packet, loaded on first use: the questions and answers of a scan (MX, A, AAAA) never need it
 * (dns/fast-codec.ts), and importing it took 25–30 ms of every command's start-up (11 ms through `require`).
 */
let loaded: typeof DnsPacket | null = null;
function dnsPacket(): typeof DnsPacket {
  return (loaded ??= createRequire(import.meta.url)('dns-packet') as typeof DnsPacket);
}

/** `encodeQuery` through dns-packet: the reference the hand-written encoder is checked against. */
export function encodeQueryReference(question: DnsQuestion, options: QueryOptions & { id: number }): Buffer {
  const packet = dnsPacket();
  const id = options.id;
  let flags = 0;
  if (options.recursionDesired ?? true) flags |= packet.RECURSION_DESIRED;
  if (options.checkingDisabled) flags |= packet.CHECKING_DISABLED;
  const additionals: Answer[] = [];
  if (options.edns ?? true) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: EDNS_UDP_SIZE,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: options.dnssecOk ? packet.DNSSEC_OK : 0,
      flag_do: options.dnssecOk ?? false,
      options: [],
    });
  }
  return packet.encode({
    type: 'query',
    id,
    flags,
    questions: [{ type: question.type, name: question.name === '' ? '.' : question.name, class: 'IN' }],
    additionals,
  });
}

const NAME_FIELDS: Partial<Record<RecordType, readonly string[]>> = {
  MX: ['exchange'],
  SOA: ['mname', 'rname'],
  SRV: ['target'],
};
const NAME_TYPES = new Set<RecordType>(['CNAME', 'DNAME', 'NS', 'PTR']);

/** Canonicalizes the names inside rdata and turns TXT into strings, so data compares and prints cleanly. */
function normalizeData(type: RecordType, data: unknown): unknown {
  if (NAME_TYPES.has(type) && typeof data === 'string') return canonicalName(data);
  const fields = NAME_FIELDS[type];
  if (fields && data && typeof data === 'object') {
    const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const f of fields) if (typeof copy[f] === 'string') copy[f] = canonicalName(copy[f]);
    return copy;
  }
  if (type === 'TXT') {
    const parts = Array.isArray(data) ? data : [data];
    return parts.map((p: unknown) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p)));
  }
  return data;
}

function toRecords(list: Answer[] | undefined): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const a of list ?? []) {
    if (a.type === 'OPT') continue;
    if (a.class !== undefined && a.class !== 'IN') continue;
    out.push({
      name: canonicalName(a.name),
      type: a.type,
      class: 'IN',
      ttl: a.ttl ?? 0,
      data: normalizeData(a.type, a.data),
    });
  }
  return out;
}

/** Reads the ID of a message without decoding the rest (null when there are not even two octets). */
export function peekId(bytes: Buffer): number | null {
  return bytes.length >= 2 ? bytes.readUInt16BE(0) : null;
}

/**
 * Decodes a response. Throws MxError MX_DNS_BAD_WIRE when the bytes are not a well-formed DNS response
 * (truncated, a compression-pointer loop, trailing garbage is tolerated as dig does). Common responses go
 * through the hand-written decoder (dns/fast-codec.ts), everything else through dns-packet.
 */
export function decodeResponse(bytes: Buffer): DnsResponse {
  return decodeResponseFast(bytes) ?? decodeResponseReference(bytes);
}

/** `decodeResponse` through dns-packet only: the reference the hand-written decoder is checked against. */
export function decodeResponseReference(bytes: Buffer): DnsResponse {
  let p: DecodedPacket;
  try {
    p = dnsPacket().decode(bytes);
  } catch (err) {
    throw new MxError('MX_DNS_BAD_WIRE', `malformed DNS message (${bytes.length} octets): ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!p.flag_qr) throw new MxError('MX_DNS_BAD_WIRE', 'not a response: the QR bit is clear');
  const q = p.questions?.[0];
  if (!q || (p.questions?.length ?? 0) !== 1) {
    throw new MxError('MX_DNS_BAD_WIRE', `a response must carry exactly one question, got ${p.questions?.length ?? 0}`);
  }
  const opt = p.additionals?.find((a) => a.type === 'OPT');
  const baseRcode = (p.flags ?? 0) & 0xf;
  const extended = opt && opt.type === 'OPT' ? (opt.extendedRcode << 4) | baseRcode : baseRcode;
  return {
    id: p.id ?? 0,
    rcode: rcodeName(extended),
    flags: {
      qr: p.flag_qr,
      aa: p.flag_aa,
      tc: p.flag_tc,
      rd: p.flag_rd,
      ra: p.flag_ra,
      ad: p.flag_ad,
      cd: p.flag_cd,
    },
    question: { name: canonicalName(q.name), type: q.type },
    answers: toRecords(p.answers),
    authority: toRecords(p.authorities),
    additional: toRecords(p.additionals),
    ednsUdpSize: opt && opt.type === 'OPT' ? opt.udpPayloadSize : null,
    size: bytes.length,
  };
}

const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADVERS',
  23: 'BADCOOKIE',
};

/** The mnemonic of an (extended) rcode, `RCODE<n>` for unassigned values. */
export function rcodeName(code: number): string {
  return RCODES[code] ?? `RCODE${code}`;
}

/** True when the response answers exactly the question asked (RFC 5452 §9.1; names compare case-insensitively). */
export function matchesQuestion(response: DnsResponse, question: DnsQuestion): boolean {
  return response.question.name === question.name && response.question.type === question.type;
}
