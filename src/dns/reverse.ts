/**
 * @module dns/reverse
 * Reverse-lookup names for addresses (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa).
 */
import { isIP } from 'node:net';
import { MxError } from '../core/errors.js';

/** Expands an IPv6 address to its 32 hex digits. */
function expandIpv6(address: string): string {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text =
      text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => g.padStart(4, '0')).join('');
}

/**
 * The PTR owner name of an address.
 * @example reverseName('192.0.2.1') // '1.2.0.192.in-addr.arpa'
 */
export function reverseName(address: string): string {
  const bare = address.replace(/%.*$/, '');
  switch (isIP(bare)) {
    case 4:
      return `${bare.split('.').reverse().join('.')}.in-addr.arpa`;
    case 6:
      return `${[...expandIpv6(bare.toLowerCase())].reverse().join('.')}.ip6.arpa`;
    default:
      throw new MxError('MX_INVALID_ARGUMENT', `${JSON.stringify(address)} is not an IP address`);
  }
}
