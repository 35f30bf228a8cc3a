/**
 * @module zone/mail-txt
 * Offline syntax checks of the mail TXT records a zone file publishes, without any lookup:
 * - SPF, RFC 7208 §4.5 (a record is the TXT whose text starts `v=spf1` then a space or the end, case
 *   insensitively) and the §12 ABNF of its terms: the eight mechanisms with their arguments, modifiers as
 *   `name=value`, `redirect` and `exp` at most once each (§6).
 * - DMARC, RFC 7489 §6.3–6.4: `v=DMARC1` first and exactly so, a `p` tag with none/quarantine/reject, and the
 *   few tags whose values are enumerated (`sp`, `adkim`, `aspf`, `pct`).
 * Evaluation (lookups, limits, macros) is check/'s work; this is what can be said from the file alone.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The text of a TXT record's data: its character-strings joined with nothing between (RFC 7208 §3.3). */
export function txtText(data: unknown): string {
  const parts = Array.isArray(data) ? (data as unknown[]) : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
}

/** True when the text is an SPF record (RFC 7208 §4.5: `v=spf1` followed by a space or nothing). */
export function isSpfText(text: string): boolean {
  return /^v=spf1( |$)/i.test(text);
}

const DOMAIN_SPEC = /^[\x21-\x7e]+$/; // RFC 7208 §7.1 macro-string: visible characters; macros not expanded here
const MODIFIER = /^([a-z][a-z0-9_.-]*)=(.*)$/i;
const MECHANISM = /^([+\-~?]?)([a-z0-9]+)(.*)$/i;

function cidr(text: string, max: number): boolean {
  return /^\/\d{1,3}$/.test(text) && Number(text.slice(1)) <= max;
}

// The `[":" domain-spec] [dual-cidr-length]` tail of `a` and `mx` (RFC 7208 §5.3, §5.4).
function checkDomainAndCidr(rest: string): boolean {
  let tail = rest;
  if (tail.startsWith(':')) {
    const slash = tail.indexOf('/');
    const domain = slash < 0 ? tail.slice(1) : tail.slice(1, slash);
    if (!DOMAIN_SPEC.test(domain)) return false;
    tail = slash < 0 ? '' : tail.slice(slash);
  }
  if (tail === '') return true;
  const m = /^(\/\d{1,3})?(\/\/\d{1,3})?$/.exec(tail);
  if (!m || (m[1] === undefined && m[2] === undefined)) return false;
  return (m[1] === undefined || cidr(m[1], 32)) && (m[2] === undefined || cidr(m[2].slice(1), 128));
}

function checkMechanism(name: string, rest: string): string | null {
  switch (name) {
    case 'all':
      return rest === '' ? null : '"all" takes no argument';
    case 'include':
    case 'exists':
      return rest.startsWith(':') && DOMAIN_SPEC.test(rest.slice(1)) ? null : `"${name}" needs ":domain"`;
    case 'a':
    case 'mx':
      return checkDomainAndCidr(rest) ? null : `"${name}${rest}" is not ${name}[:domain][/cidr]`;
    case 'ptr':
      return rest === '' || (rest.startsWith(':') && DOMAIN_SPEC.test(rest.slice(1))) ? null : `bad "ptr${rest}"`;
    case 'ip4': {
      const [address, length, extra] = rest.slice(1).split('/');
      const ok = rest.startsWith(':') && isIPv4(address ?? '') && extra === undefined;
      return ok && (length === undefined || cidr(`/${length}`, 32)) ? null : `"ip4${rest}" is not ip4:ADDRESS[/0-32]`;
    }
    case 'ip6': {
      const [address, length, extra] = rest.slice(1).split('/');
      const ok = rest.startsWith(':') && isIPv6(address ?? '') && extra === undefined;
      return ok && (length === undefined || cidr(`/${length}`, 128)) ? null : `"ip6${rest}" is not ip6:ADDRESS[/0-128]`;
    }
    default:
      return `unknown mechanism "${name}"`;
  }
}

/**
 * The syntax problems of an SPF record (empty when it parses). Mechanism and modifier names are case
 * insensitive (RFC 7208 §4.6.1); unknown modifiers are allowed (§6), unknown mechanisms are not (§4.6.1).
 * @example checkSpfSyntax('v=spf1 mx include -all') // ['"include" needs ":domain"']
 */
export function checkSpfSyntax(text: string): string[] {
  const problems: string[] = [];
  const terms = text.split(' ').slice(1);
  const modifiers = new Map<string, number>();
  for (const term of terms) {
    if (term === '') continue; // RFC 7208 §12: terms are separated by one or more spaces
    const modifier = MODIFIER.exec(term);
    if (modifier) {
      const name = (modifier[1] as string).toLowerCase();
      modifiers.set(name, (modifiers.get(name) ?? 0) + 1);
      if ((name === 'redirect' || name === 'exp') && !DOMAIN_SPEC.test(modifier[2] as string))
        problems.push(`"${name}=" needs a domain`);
      continue;
    }
    const mechanism = MECHANISM.exec(term);
    if (!mechanism) {
      problems.push(`"${term}" is neither a mechanism nor a modifier`);
      continue;
    }
    const problem = checkMechanism((mechanism[2] as string).toLowerCase(), mechanism[3] as string);
    if (problem) problems.push(problem);
  }
  for (const name of ['redirect', 'exp']) {
    if ((modifiers.get(name) ?? 0) > 1) problems.push(`"${name}=" appears more than once (RFC 7208 §6)`);
  }
  return problems;
}

const DMARC_TAG = /^([a-z][a-z0-9]*)\s*=\s*(.*)$/i;

/**
 * The syntax problems of a TXT record at a `_dmarc` name (empty when it is a usable DMARC record).
 * RFC 7489 §6.4: `v=DMARC1` must come first and match exactly, or the record is ignored; §6.3: `p` is required.
 * @example checkDmarcSyntax('v=DMARC1; rua=mailto:a@example.com') // ['no "p=" tag (RFC 7489 §6.3: required)']
 */
export function checkDmarcSyntax(text: string): string[] {
  const tags = text
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const first = tags[0] ?? '';
  const version = DMARC_TAG.exec(first);
  if (!version || version[1] !== 'v' || version[2] !== 'DMARC1')
    return ['does not start with "v=DMARC1" (RFC 7489 §6.4): receivers ignore it'];
  const problems: string[] = [];
  const values = new Map<string, string>();
  for (const tag of tags.slice(1)) {
    const m = DMARC_TAG.exec(tag);
    if (!m) {
      problems.push(`"${tag}" is not tag=value`);
      continue;
    }
    values.set((m[1] as string).toLowerCase(), (m[2] as string).trim());
  }
  const policy = values.get('p');
  if (policy === undefined) problems.push('no "p=" tag (RFC 7489 §6.3: required)');
  for (const tag of ['p', 'sp']) {
    const v = values.get(tag);
    if (v !== undefined && !/^(none|quarantine|reject)$/i.test(v))
      problems.push(`"${tag}=${v}" is not none, quarantine or reject`);
  }
  for (const tag of ['adkim', 'aspf']) {
    const v = values.get(tag);
    if (v !== undefined && !/^[rs]$/i.test(v)) problems.push(`"${tag}=${v}" is not r or s`);
  }
  const pct = values.get('pct');
  if (pct !== undefined && !(/^\d{1,3}$/.test(pct) && Number(pct) <= 100)) problems.push(`"pct=${pct}" is not 0-100`);
  return problems;
}
