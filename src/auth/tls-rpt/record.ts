/**
 * @module auth/tls-rpt/record
 * The TLS-RPT record at `_smtp._tls.<domain>` (RFC 8460 §3):
 *   tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
 *   field-delim = *WSP ";" *WSP; tlsrpt-version = %s"v=TLSRPTv1"
 *   tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri), each a mailto: or https: URI
 *   tlsrpt-extension = ext-name "=" ext-value (name: alphanumeric, then up to 31 of ALPHA DIGIT _ - .)
 * `rua` is required. Records not beginning with "v=TLSRPTv1" are discarded; exactly one must remain (§3).
 * mailauth has no TLS-RPT support, so this is ours.
 */

export interface TlsRptDestination {
  uri: string;
  scheme: 'mailto' | 'https';
  /** The mail address (mailto) or the URL's host (https). */
  target: string;
}

export interface TlsRptRecord {
  text: string;
  rua: TlsRptDestination[];
  extensions: { name: string; value: string }[];
}

export type TlsRptParse = { ok: true; record: TlsRptRecord } | { ok: false; error: string };

/**
 * RFC 8460 §3 record selection: the record begins with "v=TLSRPTv1".
 * @example isTlsRptRecord('v=TLSRPTv1; rua=mailto:tls@example.com') // true
 */
export function isTlsRptRecord(text: string): boolean {
  return /^v=TLSRPTv1[ \t]*(;|$)/.test(text);
}

const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

function parseDestination(text: string): TlsRptDestination | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URI`;
  }
  if (url.protocol === 'mailto:') {
    const address = decodeURIComponent(url.pathname);
    const at = address.lastIndexOf('@');
    if (at <= 0 || at === address.length - 1) return `"${text}" does not name a mail address`;
    return { uri: text, scheme: 'mailto', target: address };
  }
  if (url.protocol === 'https:') return { uri: text, scheme: 'https', target: url.hostname };
  return `"${text}" is neither mailto: nor https: (RFC 8460 §3)`;
}

/**
 * Parses a TLS-RPT record.
 * @example
 * parseTlsRptRecord('v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.net/v1')
 * // { ok: true, record: { rua: [{ scheme: 'mailto', … }, { scheme: 'https', … }], … } }
 */
export function parseTlsRptRecord(text: string): TlsRptParse {
  if (!isTlsRptRecord(text)) return { ok: false, error: 'the record does not begin with "v=TLSRPTv1"' };
  const fields = text.split(/[ \t]*;[ \t]*/).slice(1);
  if (fields.at(-1) === '') fields.pop();
  let rua: TlsRptDestination[] | null = null;
  const extensions: TlsRptRecord['extensions'] = [];
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${field}" is not a name=value field (RFC 8460 §3)` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'rua') {
      if (rua !== null) return { ok: false, error: 'the rua field appears more than once' };
      rua = [];
      for (const item of value.split(/[ \t]*,[ \t]*/)) {
        const d = parseDestination(item);
        if (typeof d === 'string') return { ok: false, error: `rua: ${d}` };
        rua.push(d);
      }
      continue;
    }
    if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      return { ok: false, error: `"${field}" is not a valid field (RFC 8460 §3)` };
    }
    extensions.push({ name, value });
  }
  if (rua === null) return { ok: false, error: 'the required rua field is missing (RFC 8460 §3)' };
  return { ok: true, record: { text, rua, extensions } };
}
