/**
 * @module auth/spf/record
 * The SPF record grammar of RFC 7208 §12, checked strictly and whole (§4.6: "any syntax errors anywhere in the
 * record MUST be detected", even in terms evaluation would never reach):
 * - §4.5 record selection: `v=spf1` (any case) followed by a space or the end;
 * - §3.1 / §4.6.1 terms are printable ASCII separated by spaces only (no tabs, no control characters);
 * - §5 mechanisms with their arguments, including dual CIDR lengths (§5.6: no leading zeros, ≤ 32 / ≤ 128);
 * - §6 modifiers: `redirect` and `exp` at most once each, with a domain-spec; unknown modifiers need a valid
 *   name (§A) and a valid macro-string;
 * - §7.1 macro syntax, and domain-spec ending in a macro or a valid top label; `c`, `r` and `t` only in
 *   explanation text, never in a domain-spec.
 * No I/O: evaluation and look-up counting build on this (auth/spf/analyze.ts, auth/spf/evaluate.ts).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type SpfQualifier = '+' | '-' | '~' | '?';
export type SpfMechanismName = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

export interface SpfMechanism {
  type: 'mechanism';
  /** The term as written. */
  text: string;
  qualifier: SpfQualifier;
  mechanism: SpfMechanismName;
  /** The domain-spec argument (include, a, mx, ptr, exists), or null when absent. */
  domainSpec: string | null;
  /** The address argument of ip4/ip6. */
  network: string | null;
  cidr4: number | null;
  cidr6: number | null;
}

export interface SpfModifier {
  type: 'modifier';
  text: string;
  /** Lowercase name: `redirect`, `exp` or an unknown modifier (which is ignored, §6). */
  name: string;
  value: string;
}

export type SpfTerm = SpfMechanism | SpfModifier;

export interface SpfRecord {
  text: string;
  terms: SpfTerm[];
  redirect: string | null;
  exp: string | null;
  /** The qualifier of the `all` mechanism, or null without one. */
  all: SpfQualifier | null;
}

export type SpfParse = { ok: true; record: SpfRecord } | { ok: false; error: string; term: string | null };

/** The mechanisms and modifiers that cost a DNS look-up (RFC 7208 §4.6.4). */
export const LOOKUP_MECHANISMS: ReadonlySet<SpfMechanismName> = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

/**
 * RFC 7208 §4.5: a TXT record is an SPF record when it starts with `v=spf1` then a space or the end.
 * @example isSpfRecord('v=spf1 -all') // true; isSpfRecord('v=spf10') // false
 */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1( |$)/i.test(text);
}

const MECHANISMS = new Set<string>(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);
const MODIFIER = /^([A-Za-z][A-Za-z0-9._-]*)=(.*)$/;
const QNUM = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])';
const IP4_NETWORK = new RegExp(`^${QNUM}\\.${QNUM}\\.${QNUM}\\.${QNUM}$`);
// §12: "/" ("0" / %x31-39 0*1DIGIT), so no leading zeros; the range is checked separately.
const CIDR = '(?:0|[1-9][0-9]{0,2})';
const DUAL_CIDR = new RegExp(`^(?:/(${CIDR}))?(?://(${CIDR}))?$`);
const DUAL_CIDR_SUFFIX = new RegExp(`(?:/(${CIDR}))?(?://(${CIDR}))?$`);
const TOPLABEL = /^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$/;

/**
 * A syntax error in a macro-string (RFC 7208 §7.1), or null when it is valid.
 * @example macroStringError('%{r}.example.com') // 'the macro letter "r" is allowed only in explanation text …'
 */
export function macroStringError(text: string, options: { explanation?: boolean } = {}): string | null {
  const letters = options.explanation ? 'slodiphvcrt' : 'slodiphv';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      // §7.1 macro-literal: visible characters except "%"; SP only in explanation text.
      const code = c.charCodeAt(0);
      if (code === 0x20 && options.explanation) continue;
      if (code < 0x21 || code > 0x7e) return `the character ${JSON.stringify(c)} is not allowed`;
      continue;
    }
    const next = text[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      i++;
      continue;
    }
    if (next !== '{') return `"%" must be followed by "{", "%", "_" or "-" (RFC 7208 §7.1)`;
    const end = text.indexOf('}', i);
    if (end < 0) return 'a macro "%{" is not closed';
    const body = text.slice(i + 2, end);
    const m = /^([A-Za-z])([0-9]*)(r?)([-.+,/_=]*)$/i.exec(body);
    if (!m) return `the macro "%{${body}}" is malformed`;
    if (!letters.includes(m[1]!.toLowerCase())) {
      return 'crt'.includes(m[1]!.toLowerCase())
        ? `the macro letter "${m[1]}" is allowed only in explanation text (RFC 7208 §7.1)`
        : `"${m[1]}" is not a macro letter (RFC 7208 §7.1)`;
    }
    // §7.1: "If a DIGIT is specified, the value MUST be nonzero."
    if (m[2] !== '' && Number(m[2]) === 0) return `the macro "%{${body}}" keeps zero labels`;
    i = end;
  }
  return null;
}

/**
 * True when the text has a macro that depends on the message (anything but the literal escapes).
 * @example hasMacro('%{i}._spf.example.com') // true
 */
export function hasMacro(text: string): boolean {
  return /%\{/.test(text);
}

/**
 * A syntax error in a domain-spec, or null. RFC 7208 §7.1: `domain-spec = macro-string domain-end`, where
 * `domain-end` is a macro or "." followed by a top label (not all digits, no leading or trailing hyphen) and
 * an optional final dot. So `a:museum` and `a:1.2.3.4` are errors, `a:%{d}` and `a:mail.example.com.` are not.
 * @example domainSpecError('museum') // '"museum" does not end in a top-level label such as ".com" (RFC 7208 §7.1)'
 */
export function domainSpecError(spec: string): string | null {
  if (spec === '') return 'the domain-spec is empty';
  const macroError = macroStringError(spec);
  if (macroError) return macroError;
  // The macro-string is valid, so every "%" starts a macro: find where the last one ends.
  let tailStart = 0;
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] !== '%') continue;
    i = spec[i + 1] === '{' ? spec.indexOf('}', i) : i + 1;
    tailStart = i + 1;
  }
  if (tailStart === spec.length) return null;
  // The literal tail after the last macro, without one final dot, must end in "." toplabel.
  const tail = spec.slice(tailStart).replace(/\.$/, '');
  const dot = tail.lastIndexOf('.');
  if (dot < 0) return `"${spec}" does not end in a top-level label such as ".com" (RFC 7208 §7.1)`;
  if (!TOPLABEL.test(tail.slice(dot + 1))) {
    return /^[0-9]+$/.test(tail.slice(dot + 1))
      ? `"${spec}" ends in an all-numeric label: a domain is needed here, not an address (RFC 7208 §7.1)`
      : `"${spec}" does not end in a valid top-level label (RFC 7208 §7.1)`;
  }
  return null;
}

type TermResult = { ok: true; term: SpfTerm } | { ok: false; error: string };

function parseDualCidr(text: string): { cidr4: number | null; cidr6: number | null } | string {
  const m = DUAL_CIDR.exec(text);
  if (!m) return `"${text}" is not a valid CIDR length (RFC 7208 §5.6)`;
  const cidr4 = m[1] === undefined ? null : Number(m[1]);
  const cidr6 = m[2] === undefined ? null : Number(m[2]);
  if (cidr4 !== null && cidr4 > 32) return `/${cidr4} is not an IPv4 prefix length (at most 32)`;
  if (cidr6 !== null && cidr6 > 128) return `//${cidr6} is not an IPv6 prefix length (at most 128)`;
  return { cidr4, cidr6 };
}

function parseMechanism(text: string): TermResult {
  let rest = text;
  let qualifier: SpfQualifier = '+';
  if (/^[-+~?]/.test(rest)) {
    qualifier = rest[0] as SpfQualifier;
    rest = rest.slice(1);
  }
  const nameEnd = rest.search(/[:/]/);
  const name = (nameEnd < 0 ? rest : rest.slice(0, nameEnd)).toLowerCase();
  const arg = nameEnd < 0 ? '' : rest.slice(nameEnd);
  if (!MECHANISMS.has(name)) {
    return { ok: false, error: `"${name}" is not an SPF mechanism, and a modifier needs "=" (RFC 7208 §5, §6)` };
  }
  const mechanism = name as SpfMechanismName;
  const base: SpfMechanism = {
    type: 'mechanism',
    text,
    qualifier,
    mechanism,
    domainSpec: null,
    network: null,
    cidr4: null,
    cidr6: null,
  };
  switch (mechanism) {
    case 'all':
      if (arg !== '') return { ok: false, error: '"all" takes no argument (RFC 7208 §5.1)' };
      return { ok: true, term: base };
    case 'include':
    case 'exists':
    case 'ptr': {
      if (arg === '' && mechanism === 'ptr') return { ok: true, term: base };
      if (!arg.startsWith(':')) return { ok: false, error: `"${mechanism}" needs ":" and a domain (RFC 7208 §5)` };
      const spec = arg.slice(1);
      const err = domainSpecError(spec);
      if (err) return { ok: false, error: `${mechanism}: ${err}` };
      return { ok: true, term: { ...base, domainSpec: spec } };
    }
    case 'a':
    case 'mx': {
      let spec: string | null = null;
      let cidrText = arg;
      if (arg.startsWith(':')) {
        const body = arg.slice(1);
        const suffix = DUAL_CIDR_SUFFIX.exec(body)!;
        spec = body.slice(0, suffix.index);
        cidrText = suffix[0];
        const err = domainSpecError(spec);
        if (err) return { ok: false, error: `${mechanism}: ${err}` };
      }
      const cidr = parseDualCidr(cidrText);
      if (typeof cidr === 'string') return { ok: false, error: `${mechanism}: ${cidr}` };
      return { ok: true, term: { ...base, domainSpec: spec, ...cidr } };
    }
    case 'ip4':
    case 'ip6': {
      if (!arg.startsWith(':') || arg.length === 1) {
        return { ok: false, error: `"${mechanism}" needs ":" and an address (RFC 7208 §5.6)` };
      }
      const body = arg.slice(1);
      const slash = body.indexOf('/');
      const network = slash < 0 ? body : body.slice(0, slash);
      const prefix = slash < 0 ? '' : body.slice(slash);
      const valid = mechanism === 'ip4' ? IP4_NETWORK.test(network) : isIPv6(network);
      if (!valid) {
        const hint = mechanism === 'ip4' && isIPv4(network) ? ' (no leading zeros)' : '';
        return { ok: false, error: `${mechanism}: "${network}" is not a valid address${hint} (RFC 7208 §5.6)` };
      }
      // ip4 takes an ip4-cidr-length, ip6 an ip6-cidr-length; neither takes the dual form.
      const m = new RegExp(`^(?:/(${CIDR}))?$`).exec(prefix);
      const length = m?.[1] === undefined ? null : Number(m[1]);
      const max = mechanism === 'ip4' ? 32 : 128;
      if (!m || (length !== null && length > max)) {
        return { ok: false, error: `${mechanism}: "${prefix}" is not a valid prefix length (0 to ${max})` };
      }
      return {
        ok: true,
        term: {
          ...base,
          network,
          cidr4: mechanism === 'ip4' ? length : null,
          cidr6: mechanism === 'ip6' ? length : null,
        },
      };
    }
  }
}

function parseTerm(text: string): TermResult {
  const modifier = MODIFIER.exec(text);
  if (!modifier) return parseMechanism(text);
  const name = modifier[1]!.toLowerCase();
  const value = modifier[2]!;
  if (name === 'redirect' || name === 'exp') {
    // §6.1, §6.2 (and the erratum the RFC 7208 test suite follows): an empty or malformed domain-spec is
    // an error here, not an unknown modifier.
    const err = domainSpecError(value);
    if (err) return { ok: false, error: `${name}=: ${err}` };
  } else {
    const err = macroStringError(value);
    if (err) return { ok: false, error: `modifier ${name}=: ${err}` };
  }
  return { ok: true, term: { type: 'modifier', text, name, value } };
}

/**
 * Parses an SPF record strictly (RFC 7208 §4.6, §12).
 * @example
 * const p = parseSpfRecord('v=spf1 mx include:_spf.example.net -all');
 * if (p.ok) p.record.all // '-'
 * parseSpfRecord('v=spf1 a:museum -all') // { ok: false, error: '…top-level label…', term: 'a:museum' }
 */
export function parseSpfRecord(text: string): SpfParse {
  if (!isSpfRecord(text)) return { ok: false, error: 'the record does not start with "v=spf1"', term: null };
  const bad = /[^\x20-\x7e]/.exec(text);
  if (bad) {
    return {
      ok: false,
      error: `the record contains ${JSON.stringify(bad[0])}: SPF records are printable ASCII separated by spaces (RFC 7208 §3.1, §4.6.1)`,
      term: null,
    };
  }
  const terms: SpfTerm[] = [];
  let redirect: string | null = null;
  let exp: string | null = null;
  let all: SpfQualifier | null = null;
  for (const word of text.slice(6).split(' ')) {
    if (word === '') continue;
    const parsed = parseTerm(word);
    if (!parsed.ok) return { ok: false, error: parsed.error, term: word };
    const term = parsed.term;
    if (term.type === 'modifier') {
      if ((term.name === 'redirect' && redirect !== null) || (term.name === 'exp' && exp !== null)) {
        return { ok: false, error: `"${term.name}=" appears more than once (RFC 7208 §6)`, term: word };
      }
      if (term.name === 'redirect') redirect = term.value;
      if (term.name === 'exp') exp = term.value;
    } else if (term.mechanism === 'all' && all === null) {
      all = term.qualifier;
    }
    terms.push(term);
  }
  return { ok: true, record: { text, terms, redirect, exp, all } };
}

/**
 * The terms of a record that cost a DNS look-up (RFC 7208 §4.6.4): `redirect` only when there is no `all`.
 * @example lookupTerms(record).length // 2 for "v=spf1 a include:_spf.example.net ip4:192.0.2.1 -all"
 */
export function lookupTerms(record: SpfRecord): SpfTerm[] {
  return record.terms.filter((t) =>
    t.type === 'mechanism' ? LOOKUP_MECHANISMS.has(t.mechanism) : t.name === 'redirect' && record.all === null,
  );
}
