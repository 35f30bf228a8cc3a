/**
 * @module dns/types
 * The shapes every DNS module shares. Records use dns-packet's rdata shapes (RFC 1035 §3.2), with owner names
 * lowercase, without the trailing dot.
 */
import type { RecordType } from 'dns-packet';

export type { RecordType };

/** One resource record. `data` is dns-packet's rdata shape for the type (MX: `{preference, exchange}`). */
export interface DnsRecord {
  name: string;
  type: RecordType;
  class: 'IN';
  ttl: number;
  data: unknown;
}

/** Header flags of a response (RFC 1035 §4.1.1, RFC 4035 §3.2 for ad/cd). */
export interface DnsFlags {
  qr: boolean;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
}

/** The question a message asks. `name` is a normalized name (see dns/name.ts). */
export interface DnsQuestion {
  name: string;
  type: RecordType;
}

/** A decoded response, as the client saw it. */
export interface DnsResponse {
  id: number;
  rcode: string;
  flags: DnsFlags;
  question: DnsQuestion;
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
  /** The EDNS0 UDP payload size the server advertised, or null without EDNS. */
  ednsUdpSize: number | null;
  /** Size of the message in octets. */
  size: number;
}

/** A server to send questions to. */
export interface DnsServer {
  host: string;
  port: number;
}

export type Transport = 'udp' | 'tcp';

/** The record types mxray can ask for by name. */
export const QUERY_TYPES: readonly RecordType[] = [
  'A',
  'AAAA',
  'CAA',
  'CNAME',
  'DNAME',
  'DNSKEY',
  'DS',
  'HINFO',
  'MX',
  'NAPTR',
  'NS',
  'NSEC',
  'NSEC3',
  'NSEC3PARAM',
  'PTR',
  'RP',
  'RRSIG',
  'SOA',
  'SRV',
  'SSHFP',
  'TLSA',
  'TXT',
  'URI',
];
