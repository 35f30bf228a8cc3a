/**
 * @module dns/presentation
 * Presentation format of RR data (RFC 1035 §5.1 master-file text), both ways and in one place, so the zone
 * parser and every renderer agree: `parseRdata` reads the RDATA tokens of one zone-file line into dns-packet's
 * rdata shape; `formatRdata` prints that shape back the way dig prints it. Types: A, AAAA (RFC 3596 §2.4),
 * MX, NS, CNAME, PTR, SOA, TXT (RFC 1035 §3.3), SRV (RFC 2782), CAA (RFC 8659 §4.1), TLSA (RFC 6698 §2.2);
 * any other type dns-packet decodes is printed in the RFC 3597 §5 generic form (`\# len hex`) or best effort.
 */
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { MxError } from '../core/errors.js';
import { fqdn, normalizeName } from './name.js';
import type { DnsRecord } from './types.js';

/** The types `parseRdata` reads. */
export const PRESENTATION_TYPES = [
  'A',
  'AAAA',
  'MX',
  'TXT',
  'CNAME',
  'NS',
  'SOA',
  'PTR',
  'SRV',
  'CAA',
  'TLSA',
] as const;
export type PresentationType = (typeof PRESENTATION_TYPES)[number];

/** True when `parseRdata` can read this type. */
export function isPresentationType(type: string): type is PresentationType {
  return (PRESENTATION_TYPES as readonly string[]).includes(type);
}

interface AddressCodec {
  encode(host: string, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Buffer, offset?: number): string;
}
const codecs = dnsPacket as unknown as { aaaa: AddressCodec };

function bad(message: string): MxError {
  return new MxError('MX_INVALID_ARGUMENT', message);
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

/**
 * Splits one line of RDATA text into tokens the way the zone parser does: whitespace separates, a quoted
 * string is one token (quotes kept), a backslash escapes the next character. No comments, no parentheses.
 * @example splitTokens('10 "a b" c\\ d') // ['10', '"a b"', 'c\\ d']
 */
export function splitTokens(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      cur += c + (text[i + 1] ?? '');
      i++;
    } else if (c === '"') {
      if (!quoted && cur !== '') {
        out.push(cur);
        cur = '';
      }
      cur += c;
      if (quoted) {
        out.push(cur);
        cur = '';
      }
      quoted = !quoted;
    } else if (!quoted && /\s/.test(c)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (quoted) throw bad(`unterminated quoted string in ${JSON.stringify(text)}`);
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * The octets of a <character-string> token (RFC 1035 §5.1): surrounding quotes dropped, `\X` is X and `\DDD` is
 * the octet with that decimal value.
 */
export function decodeCharString(token: string): Buffer {
  const body = token.length >= 2 && token.startsWith('"') && token.endsWith('"') ? token.slice(1, -1) : token;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const digits = body.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(digits)) {
      const value = Number(digits);
      if (value > 255) throw bad(`escape \\${digits} in ${token} is over 255`);
      bytes.push(value);
      i += 3;
    } else if (i + 1 < body.length) {
      bytes.push(...Buffer.from(body[i + 1] as string, 'utf8'));
      i += 1;
    } else {
      throw bad(`${token} ends with a lone backslash`);
    }
  }
  return Buffer.from(bytes);
}

/** A character-string quoted as dig prints it: `"` and `\` escaped, octets outside 0x20–0x7e as `\DDD`. */
export function quoteCharString(value: Buffer | string): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) out += `\\${String(b).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

// ---------------------------------------------------------------------------------------------------------------
// Fields

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const MAX_TTL = 0x7fffffff; // RFC 2181 §8: TTLs are 31-bit

/** True when the token is a TTL: decimal seconds or BIND units (`1h30m`, `2d`, `1w`). */
export function isTtlToken(token: string): boolean {
  return /^\d+$/.test(token) || /^(\d+[smhdw])+$/i.test(token);
}

/**
 * Parses a TTL (RFC 2308 §4 `$TTL` and BIND unit suffixes) into seconds, at most 2^31-1 (RFC 2181 §8).
 * @example parseTtl('1h30m') // 5400
 */
export function parseTtl(token: string): number {
  if (!isTtlToken(token)) throw bad(`${JSON.stringify(token)} is not a TTL (seconds, or units like 1h, 2d, 1w)`);
  let total = 0;
  if (/^\d+$/.test(token)) total = Number(token);
  else
    for (const m of token.toLowerCase().matchAll(/(\d+)([smhdw])/g))
      total += Number(m[1]) * (TTL_UNITS[m[2] as string] ?? 0);
  if (!Number.isSafeInteger(total) || total > MAX_TTL)
    throw bad(`TTL ${token} is over 2147483647 seconds (RFC 2181 §8)`);
  return total;
}

function parseUint(token: string | undefined, field: string, max: number): number {
  if (token === undefined) throw bad(`missing ${field}`);
  if (!/^\d+$/.test(token)) throw bad(`${field} ${JSON.stringify(token)} is not a number`);
  const value = Number(token);
  if (value > max) throw bad(`${field} ${token} is out of range (0-${max})`);
  return value;
}

// SOA timers accept TTL units in BIND and Knot; the serial does not.
function parseTimer(token: string | undefined, field: string): number {
  if (token === undefined) throw bad(`missing ${field}`);
  if (/^\d+$/.test(token)) return parseUint(token, field, 0xffffffff);
  if (!isTtlToken(token)) throw bad(`${field} ${JSON.stringify(token)} is not a number`);
  return parseTtl(token);
}

// True when the name token ends with a dot that is not escaped (an absolute name).
function endsWithUnescapedDot(token: string): boolean {
  if (!token.endsWith('.')) return false;
  let slashes = 0;
  for (let i = token.length - 2; i >= 0 && token[i] === '\\'; i--) slashes++;
  return slashes % 2 === 0;
}

/**
 * Resolves a domain-name token against the origin (RFC 1035 §5.1: `@` is the origin, a name without a trailing
 * dot is relative) and normalizes it (lowercase, no trailing dot, root as ''). `origin` null means no origin is
 * known yet, so relative names are refused.
 * @example parseNameToken('mail', 'example.com') // 'mail.example.com'
 */
export function parseNameToken(
  token: string | undefined,
  origin: string | null,
  field = 'name',
  options: { allowWildcard?: boolean } = {},
): string {
  if (token === undefined) throw bad(`missing ${field}`);
  let absolute: string;
  if (token === '@') {
    if (origin === null) throw bad(`${field} "@" used but no origin is known (add $ORIGIN)`);
    absolute = origin;
  } else if (token === '.') {
    absolute = '';
  } else if (endsWithUnescapedDot(token)) {
    absolute = token.slice(0, -1);
  } else {
    if (origin === null)
      throw bad(`${field} ${JSON.stringify(token)} is relative but no origin is known (add $ORIGIN)`);
    absolute = origin === '' ? token : `${token}.${origin}`;
  }
  if (absolute.includes('\\')) throw bad(`${field} ${JSON.stringify(token)}: escapes in names are not supported`);
  try {
    return normalizeName(absolute, { allowRoot: true, allowWildcard: options.allowWildcard ?? false });
  } catch (err) {
    throw new MxError('MX_INVALID_ARGUMENT', `${field} ${JSON.stringify(token)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

// The SOA RNAME is a mailbox (RFC 1035 §8): its first label may hold an escaped dot (`john\.doe`), which
// dns-packet's `mail` name codec carries as `\.` inside the label.
function parseMailbox(token: string | undefined, origin: string | null): string {
  if (token === undefined) throw bad('missing RNAME');
  let dot = -1;
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '\\') i++;
    else if (token[i] === '.') {
      dot = i;
      break;
    }
  }
  const first = dot < 0 ? token : token.slice(0, dot);
  if (!first.includes('\\')) return parseNameToken(token, origin, 'RNAME');
  const local = decodeCharString(first).toString('latin1').toLowerCase();
  if (!/^[a-z0-9_.+-]+$/.test(local)) throw bad(`RNAME ${JSON.stringify(token)} has an unusable local part`);
  let domain: string;
  if (dot < 0) {
    if (origin === null) throw bad(`RNAME ${JSON.stringify(token)} is relative but no origin is known (add $ORIGIN)`);
    domain = origin;
  } else {
    const rest = token.slice(dot + 1);
    domain = rest === '' ? '' : parseNameToken(rest, origin, 'RNAME');
  }
  const escaped = local.replace(/\./g, '\\.');
  return domain === '' ? escaped : `${escaped}.${domain}`;
}

function expectCount(type: string, tokens: string[], count: number, fields: string): void {
  if (tokens.length < count) throw bad(`${type} needs ${fields}; got ${tokens.length} field(s)`);
  if (tokens.length > count) throw bad(`${type} takes ${fields}; unexpected ${JSON.stringify(tokens[count])}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parse

/**
 * Parses the RDATA tokens of one record into dns-packet's data shape. Names come back lowercase without the
 * trailing dot, the root as '' (so the null MX `0 .` of RFC 7505 has exchange ''). TXT comes back as an array
 * of Buffers (one per character-string, exactly as dns-packet decodes it). Throws MxError MX_INVALID_ARGUMENT
 * with a message naming the bad field; the zone parser adds file and line.
 * @example parseRdata('MX', ['10', 'mail'], 'example.com') // { preference: 10, exchange: 'mail.example.com' }
 */
export function parseRdata(type: string, tokens: string[], origin: string | null): unknown {
  const t = type.toUpperCase();
  switch (t) {
    case 'A': {
      expectCount(t, tokens, 1, 'an IPv4 address');
      const a = tokens[0] as string;
      if (!isIPv4(a)) throw bad(`${JSON.stringify(a)} is not an IPv4 address`);
      return a;
    }
    case 'AAAA': {
      expectCount(t, tokens, 1, 'an IPv6 address');
      const a = tokens[0] as string;
      if (!isIPv6(a) || a.includes('%')) throw bad(`${JSON.stringify(a)} is not an IPv6 address`);
      // The form dns-packet decodes to, so parsed and decoded records compare equal.
      return codecs.aaaa.decode(codecs.aaaa.encode(a), 0);
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      expectCount(t, tokens, 1, 'a domain name');
      return parseNameToken(tokens[0], origin, `${t} target`);
    case 'MX':
      expectCount(t, tokens, 2, 'a preference and an exchange');
      return {
        preference: parseUint(tokens[0], 'MX preference', 0xffff),
        exchange: parseNameToken(tokens[1], origin, 'MX exchange'),
      };
    case 'SOA':
      expectCount(t, tokens, 7, 'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM');
      return {
        mname: parseNameToken(tokens[0], origin, 'MNAME'),
        rname: parseMailbox(tokens[1], origin),
        serial: parseUint(tokens[2], 'SOA serial', 0xffffffff),
        refresh: parseTimer(tokens[3], 'SOA refresh'),
        retry: parseTimer(tokens[4], 'SOA retry'),
        expire: parseTimer(tokens[5], 'SOA expire'),
        minimum: parseTimer(tokens[6], 'SOA minimum'),
      };
    case 'TXT': {
      if (tokens.length === 0) throw bad('TXT needs at least one character-string');
      return tokens.map((tok) => {
        const bytes = decodeCharString(tok);
        if (bytes.length > 255) throw bad(`TXT string ${tok.slice(0, 20)}… is ${bytes.length} octets (at most 255)`);
        return bytes;
      });
    }
    case 'SRV':
      expectCount(t, tokens, 4, 'PRIORITY WEIGHT PORT TARGET');
      return {
        priority: parseUint(tokens[0], 'SRV priority', 0xffff),
        weight: parseUint(tokens[1], 'SRV weight', 0xffff),
        port: parseUint(tokens[2], 'SRV port', 0xffff),
        target: parseNameToken(tokens[3], origin, 'SRV target'),
      };
    case 'CAA': {
      expectCount(t, tokens, 3, 'FLAGS TAG VALUE');
      const flags = parseUint(tokens[0], 'CAA flags', 255);
      const tag = tokens[1] as string;
      if (!/^[A-Za-z0-9]+$/.test(tag)) throw bad(`CAA tag ${JSON.stringify(tag)} must be letters and digits`);
      const value = decodeCharString(tokens[2] as string).toString('utf8');
      return { flags, tag: tag.toLowerCase(), value, issuerCritical: (flags & 0x80) !== 0 };
    }
    case 'TLSA': {
      if (tokens.length < 4) throw bad(`TLSA needs USAGE SELECTOR MATCHING-TYPE DATA; got ${tokens.length} field(s)`);
      const hex = tokens.slice(3).join('');
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw bad(`TLSA data ${JSON.stringify(hex.slice(0, 20))} is not hex`);
      return {
        usage: parseUint(tokens[0], 'TLSA usage', 255),
        selector: parseUint(tokens[1], 'TLSA selector', 255),
        matchingType: parseUint(tokens[2], 'TLSA matching type', 255),
        certificate: Buffer.from(hex, 'hex'),
      };
    }
    default:
      throw bad(`record type ${JSON.stringify(type)} is not supported (supported: ${PRESENTATION_TYPES.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Format

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Buffer.isBuffer(x);
}

// Names arrive either from our parser ('' for the root) or from dns-packet ('.' for the root, case kept).
function printName(name: unknown): string {
  const s = String(name);
  if (s === '' || s === '.') return '.';
  return s.endsWith('.') ? s : fqdn(s);
}

function printNumber(x: unknown): string {
  return typeof x === 'number' ? String(x) : String(Number(x));
}

function txtStrings(data: unknown): Array<Buffer | string> {
  if (Array.isArray(data)) return data as Array<Buffer | string>;
  if (typeof data === 'string' || Buffer.isBuffer(data)) return [data];
  return [String(data)];
}

function generic(data: unknown): string {
  if (Buffer.isBuffer(data))
    return data.length === 0 ? '\\# 0' : `\\# ${data.length} ${data.toString('hex').toUpperCase()}`;
  if (typeof data === 'string') return data;
  return JSON.stringify(data, (_k, v: unknown) => {
    if (isRecord(v) && v.type === 'Buffer' && Array.isArray(v.data))
      return Buffer.from(v.data as number[]).toString('hex');
    return v;
  });
}

/**
 * Prints RR data the way dig prints it: names fully qualified with the trailing dot, TXT as quoted strings
 * with `\"` and `\DDD` escapes, other types in the RFC 3597 generic form when the data is raw octets.
 * @example formatRdata('MX', { preference: 10, exchange: 'mail.example.com' }) // '10 mail.example.com.'
 */
export function formatRdata(type: string, data: unknown): string {
  const d = isRecord(data) ? data : {};
  switch (type.toUpperCase()) {
    case 'A':
    case 'AAAA':
      return String(data);
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return printName(data);
    case 'MX':
      return `${printNumber(d.preference)} ${printName(d.exchange)}`;
    case 'SOA':
      return [
        printName(d.mname),
        printName(d.rname),
        printNumber(d.serial),
        printNumber(d.refresh),
        printNumber(d.retry),
        printNumber(d.expire),
        printNumber(d.minimum),
      ].join(' ');
    case 'TXT':
      return txtStrings(data)
        .map((s) => quoteCharString(s))
        .join(' ');
    case 'SRV':
      return `${printNumber(d.priority)} ${printNumber(d.weight)} ${printNumber(d.port)} ${printName(d.target)}`;
    case 'CAA':
      return `${printNumber(d.flags ?? (d.issuerCritical ? 128 : 0))} ${String(d.tag)} ${quoteCharString(String(d.value))}`;
    case 'TLSA': {
      const cert = Buffer.isBuffer(d.certificate) ? d.certificate.toString('hex').toUpperCase() : String(d.certificate);
      return `${printNumber(d.usage)} ${printNumber(d.selector)} ${printNumber(d.matchingType)} ${cert}`;
    }
    default:
      return generic(data);
  }
}

/**
 * One record as a zone-file line: `name. TTL IN TYPE rdata`.
 * @example formatRecord({ name: 'example.com', type: 'MX', class: 'IN', ttl: 300, data: { preference: 0, exchange: '' } })
 * // 'example.com. 300 IN MX 0 .'
 */
export function formatRecord(r: DnsRecord): string {
  return `${printName(r.name)} ${r.ttl} ${r.class} ${r.type} ${formatRdata(r.type, r.data)}`;
}
