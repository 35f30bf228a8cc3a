/**
 * @module dns/name
 * Domain names as users type them, made into the form DNS carries: IDNA A-labels (RFC 5890/UTS #46),
 * case folded (RFC 4343), no trailing dot, checked against RFC 1035 §2.3.4 limits before any query is sent.
 */
import { domainToASCII } from 'node:url';
import { MxError } from '../core/errors.js';

const ASCII_LABEL = /^[a-z0-9_-]+$/;
/** A name that normalizes to itself: lowercase LDH (and _) labels of 1–63 octets, no trailing dot. */
const NORMAL = /^[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*$/;
// Dots that UTS #46 maps to U+002E (ideographic and full-width full stops): split on them too.
const DOTS = /[.\u3002\uff0e\uff61]/;

export interface NormalizeOptions {
  /** Accept the root name ('.' or ''), returned as ''. Default false. */
  allowRoot?: boolean;
  /** Accept '*' as the leftmost label (a wildcard owner). Default false. */
  allowWildcard?: boolean;
}

function invalid(input: string, why: string): MxError {
  return new MxError('MX_INVALID_NAME', `invalid domain name ${JSON.stringify(input)}: ${why}`);
}

/**
 * Normalizes a domain name: Unicode labels become A-labels, letters are lowercased, one trailing dot is dropped.
 * Throws MxError MX_INVALID_NAME with the reason when the name cannot be used.
 * @example normalizeName('Bücher.Example.') // 'xn--bcher-kva.example'
 */
export function normalizeName(input: string, options: NormalizeOptions = {}): string {
  if (typeof input !== 'string') throw invalid(String(input), 'not a string');
  // Already in normal form (what a scan mostly meets): nothing to do.
  if (input.length <= 253 && NORMAL.test(input)) return input;
  const trimmed = input.trim();
  if (trimmed === '.' || trimmed === '') {
    if (options.allowRoot) return '';
    throw invalid(input, 'the name is empty');
  }
  const body = DOTS.test(trimmed.at(-1) ?? '') ? trimmed.slice(0, -1) : trimmed;
  const labels = body.split(DOTS);
  const out: string[] = [];
  for (const [i, raw] of labels.entries()) {
    if (raw === '') throw invalid(input, `label ${i + 1} is empty`);
    let label: string;
    if (/^[\x21-\x7e]+$/.test(raw)) {
      label = raw.toLowerCase();
    } else {
      if (/[\s\x00-\x1f\x7f]/.test(raw))
        throw invalid(input, `label ${JSON.stringify(raw)} contains a control or space character`);
      label = domainToASCII(raw);
      if (label === '' || label.includes('.'))
        throw invalid(input, `label ${JSON.stringify(raw)} is not a valid internationalized label`);
    }
    if (label === '*' && i === 0 && options.allowWildcard) {
      out.push(label);
      continue;
    }
    if (!ASCII_LABEL.test(label)) {
      const bad = [...label].find((c) => !/[a-z0-9_-]/.test(c)) ?? '?';
      throw invalid(input, `label ${JSON.stringify(raw)} contains the character ${JSON.stringify(bad)}`);
    }
    if (label.length > 63)
      throw invalid(input, `label ${JSON.stringify(label.slice(0, 20) + '…')} is ${label.length} octets (at most 63)`);
    out.push(label);
  }
  const name = out.join('.');
  if (name.length > 253) throw invalid(input, `the name is ${name.length} octets (at most 253)`);
  return name;
}

/** The name written as a fully qualified zone-file name, with the trailing dot ('' is the root '.'). */
export function fqdn(name: string): string {
  return name === '' ? '.' : `${name}.`;
}

/** Lowercase, no trailing dot: the form names are compared in, for names that arrive from the wire. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** True when `name` is `zone` or below it. */
export function isSubdomain(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}
