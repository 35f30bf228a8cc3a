/**
 * @module auth/dmarc/record
 * The DMARC record of RFC 7489 §6.3 (tags) and §6.4 (grammar): `v=DMARC1` first, then `;`-separated tags.
 * `p` is required (none | quarantine | reject); `sp` likewise; `pct` is 0–100; `adkim`/`aspf` are r or s;
 * `rua`/`ruf` are comma-separated URIs with an optional `!size` (§6.2); `fo` is 0/1/d/s joined by `:`;
 * `ri` is a number of seconds. Unknown tags are ignored (§6.3), but reported, since a typo (`rue=`) silently
 * loses reports. mailauth 4.13 parses records leniently (any value is taken), so the parsing here is ours.
 */

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
export type DmarcAlignment = 'r' | 's';

/** One reporting URI of `rua` or `ruf` (RFC 7489 §6.2). */
export interface DmarcUri {
  /** The URI as written, without the size limit. */
  uri: string;
  scheme: string;
  /** For mailto: the address and its domain (lowercase). */
  address: string | null;
  domain: string | null;
  /** The `!size` limit as written (e.g. "10m"), or null. */
  maxSize: string | null;
}

export interface DmarcRecord {
  text: string;
  /** Every tag as written, names lowercased. */
  tags: Record<string, string>;
  p: DmarcPolicy;
  /** The subdomain policy; `p` applies when it is absent (§6.3). */
  sp: DmarcPolicy | null;
  pct: number;
  rua: DmarcUri[];
  ruf: DmarcUri[];
  adkim: DmarcAlignment;
  aspf: DmarcAlignment;
  fo: string;
  ri: number;
}

export type DmarcParse =
  | { ok: true; record: DmarcRecord; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[]; tags: Record<string, string> };

const KNOWN = new Set(['v', 'p', 'sp', 'pct', 'rua', 'ruf', 'adkim', 'aspf', 'fo', 'rf', 'ri']);
const POLICIES = new Set(['none', 'quarantine', 'reject']);

/**
 * RFC 7489 §6.6.3: records that do not start with `v=DMARC1` are discarded. The version is matched in any case
 * here so that `v=dmarc1` is reported as a syntax error rather than as a missing record.
 * @example isDmarcRecord('v=DMARC1; p=none') // true
 */
export function isDmarcRecord(text: string): boolean {
  return /^v[ \t]*=[ \t]*dmarc1[ \t]*(;|$)/i.test(text);
}

/**
 * Parses one reporting URI with its optional `!size` suffix, or returns an error.
 * @example parseDmarcUri('mailto:d@example.com!10m') // { uri: 'mailto:d@example.com', domain: 'example.com', maxSize: '10m', … }
 */
export function parseDmarcUri(text: string): DmarcUri | string {
  const m = /^(.*?)(?:!([0-9]+[kmgt]?))?$/i.exec(text.trim())!;
  const uri = m[1]!;
  const maxSize = m[2] ?? null;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `"${uri}" is not a URI (write mailto:reports@example.com)`;
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'mailto') return { uri, scheme, address: null, domain: null, maxSize };
  const address = decodeURIComponent(url.pathname);
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return `"${uri}" does not name a mail address`;
  return {
    uri,
    scheme,
    address,
    domain: address
      .slice(at + 1)
      .toLowerCase()
      .replace(/\.$/, ''),
    maxSize,
  };
}

/**
 * Parses a DMARC record. Errors are the faults that make receivers ignore the record or a tag; warnings are
 * things that are legal but probably not meant (unknown tags, a non-mailto URI receivers need not support).
 * @example
 * const r = parseDmarcRecord('v=DMARC1; p=reject; rua=mailto:d@example.com');
 * if (r.ok) r.record.p // 'reject'
 */
export function parseDmarcRecord(text: string): DmarcParse {
  const errors: string[] = [];
  const warnings: string[] = [];
  const tags: Record<string, string> = {};
  const parts = text.split(';').map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (parts.at(-1) === '') parts.pop();
  parts.forEach((part, i) => {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      errors.push(part === '' ? `an empty tag (";;") at position ${i + 1}` : `"${part}" is not a tag=value pair`);
      return;
    }
    const name = part
      .slice(0, eq)
      .replace(/[ \t]+$/, '')
      .toLowerCase();
    const value = part.slice(eq + 1).replace(/^[ \t]+/, '');
    if (i === 0 && name !== 'v') errors.push('the record must start with "v=DMARC1" (RFC 7489 §6.4)');
    if (Object.hasOwn(tags, name)) errors.push(`the tag "${name}" appears more than once`);
    else tags[name] = value;
    if (!KNOWN.has(name)) warnings.push(`unknown tag "${name}" is ignored by receivers (RFC 7489 §6.3)`);
  });
  if (tags.v !== undefined && tags.v !== 'DMARC1') errors.push(`v=${tags.v} must be written exactly "v=DMARC1"`);

  const policy = (tag: 'p' | 'sp'): DmarcPolicy | null => {
    const v = tags[tag];
    if (v === undefined) return null;
    if (POLICIES.has(v.toLowerCase())) return v.toLowerCase() as DmarcPolicy;
    errors.push(`${tag}=${v} is not a policy (none, quarantine or reject)`);
    return null;
  };
  const p = policy('p');
  if (tags.p === undefined)
    errors.push('the required tag "p" is missing (RFC 7489 §6.3): add p=none, quarantine or reject');
  const sp = policy('sp');

  let pct = 100;
  if (tags.pct !== undefined) {
    if (/^[0-9]{1,3}$/.test(tags.pct) && Number(tags.pct) <= 100) pct = Number(tags.pct);
    else errors.push(`pct=${tags.pct} is not a whole number from 0 to 100`);
  }
  const alignment = (tag: 'adkim' | 'aspf'): DmarcAlignment => {
    const v = tags[tag];
    if (v === undefined) return 'r';
    if (v === 'r' || v === 's') return v;
    errors.push(`${tag}=${v} must be "r" (relaxed) or "s" (strict)`);
    return 'r';
  };
  const adkim = alignment('adkim');
  const aspf = alignment('aspf');
  const uris = (tag: 'rua' | 'ruf'): DmarcUri[] => {
    const v = tags[tag];
    if (v === undefined) return [];
    const out: DmarcUri[] = [];
    for (const item of v.split(',')) {
      const parsed = parseDmarcUri(item);
      if (typeof parsed === 'string') errors.push(`${tag}: ${parsed}`);
      else {
        if (parsed.scheme !== 'mailto')
          warnings.push(`${tag}: receivers need only support mailto: URIs (RFC 7489 §6.2), not ${parsed.scheme}:`);
        out.push(parsed);
      }
    }
    return out;
  };
  const rua = uris('rua');
  const ruf = uris('ruf');
  const fo = tags.fo ?? '0';
  if (!/^[01ds](:[01ds])*$/.test(fo)) errors.push(`fo=${fo} must be 0, 1, d or s, joined by ":"`);
  let ri = 86400;
  if (tags.ri !== undefined) {
    if (/^[0-9]{1,10}$/.test(tags.ri)) ri = Number(tags.ri);
    else errors.push(`ri=${tags.ri} is not a number of seconds`);
  }
  if (errors.length > 0 || p === null) return { ok: false, errors, warnings, tags };
  return { ok: true, record: { text, tags, p, sp, pct, rua, ruf, adkim, aspf, fo, ri }, warnings };
}
