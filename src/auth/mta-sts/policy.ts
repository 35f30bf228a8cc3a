/**
 * @module auth/mta-sts/policy
 * The MTA-STS policy file (RFC 8461 §3.2) and MX matching (§4.1). The policy is `key: value` lines separated
 * by LF or CRLF: `version: STSv1` (required), `mode: enforce | testing | none` (required), `max_age` in seconds
 * (required, at most 31557600), and `mx:` patterns (one or more, unless the mode is none). Unknown fields are
 * ignored. An `mx` pattern is a host name, or `*.` plus a domain, where the wildcard stands for exactly one
 * leftmost label: `*.example.com` covers `mx1.example.com`, but neither `example.com` nor `a.b.example.com`.
 * mailauth 4.13 is not used here: its parser makes a missing `mode` "none" instead of an error, and its
 * `validateMx` lets `*.example.com` match `a.b.example.com` (a suffix test), which §4.1 forbids.
 */

export type MtaStsMode = 'enforce' | 'testing' | 'none';

export interface MtaStsPolicy {
  version: 'STSv1';
  mode: MtaStsMode;
  maxAge: number;
  /** The mx patterns, lowercased, without a trailing dot, in order. */
  mx: string[];
  /** Fields not defined by RFC 8461, ignored by senders. */
  extensions: { name: string; value: string }[];
}

export type MtaStsPolicyParse =
  { ok: true; policy: MtaStsPolicy; warnings: string[] } | { ok: false; errors: string[] };

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const MAX_AGE_LIMIT = 31_557_600;

const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A syntax error in an mx pattern (a host name, or "*." then a host name), or null.
 * @example mxPatternError('*.example.com') // null
 */
export function mxPatternError(pattern: string): string | null {
  const host = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  const labels = host.split('.');
  if (host === '' || !labels.every((l) => LABEL.test(l))) {
    return `"${pattern}" is not a host name or a "*." wildcard over one (RFC 8461 §3.2)`;
  }
  return null;
}

/**
 * Parses a policy file. Field names are matched exactly (the ABNF uses case-sensitive %s strings).
 * @example
 * parseMtaStsPolicy('version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n')
 * // { ok: true, policy: { mode: 'enforce', mx: ['mail.example.com'], maxAge: 86400, … }, warnings: [] }
 */
export function parseMtaStsPolicy(text: string): MtaStsPolicyParse {
  const errors: string[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  const mx: string[] = [];
  const extensions: MtaStsPolicy['extensions'] = [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const m = FIELD.exec(line);
    if (!m) {
      errors.push(`line ${i + 1} ("${line.slice(0, 40)}") is not a "key: value" field`);
      return;
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'mx') {
      const pattern = value.toLowerCase().replace(/\.$/, '');
      const err = mxPatternError(pattern);
      if (err) errors.push(`line ${i + 1}: ${err}`);
      else if (!mx.includes(pattern)) mx.push(pattern);
      return;
    }
    if (key === 'version' || key === 'mode' || key === 'max_age') {
      if (seen.has(key)) warnings.push(`"${key}" appears more than once; the first (${seen.get(key)}) is used`);
      else seen.set(key, value);
      return;
    }
    extensions.push({ name: key, value });
  });
  const version = seen.get('version');
  if (version === undefined) errors.push('the required "version: STSv1" field is missing');
  else if (version !== 'STSv1') errors.push(`version "${version}" is not "STSv1"`);
  if (lines.length > 0 && !lines[0]!.startsWith('version:')) warnings.push('"version" should be the first line');
  const mode = seen.get('mode');
  if (mode === undefined) errors.push('the required "mode" field is missing (enforce, testing or none)');
  else if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    errors.push(`mode "${mode}" is not enforce, testing or none`);
  }
  const maxAgeText = seen.get('max_age');
  let maxAge = 0;
  if (maxAgeText === undefined) errors.push('the required "max_age" field is missing');
  else if (!/^[0-9]{1,10}$/.test(maxAgeText) || Number(maxAgeText) > MAX_AGE_LIMIT) {
    errors.push(`max_age "${maxAgeText}" is not a number of seconds up to ${MAX_AGE_LIMIT}`);
  } else maxAge = Number(maxAgeText);
  if (mx.length === 0 && mode !== 'none') errors.push('there is no "mx" field: the policy allows no MX host');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policy: { version: 'STSv1', mode: mode as MtaStsMode, maxAge, mx, extensions }, warnings };
}

/**
 * RFC 8461 §4.1: does `pattern` cover the MX host name `host`? Case-insensitive, trailing dots ignored; a
 * leading `*.` matches exactly one label.
 * @example
 * matchesMxPattern('*.example.com', 'mx1.example.com') // true
 * matchesMxPattern('*.example.com', 'a.b.example.com') // false
 */
export function matchesMxPattern(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/**
 * The first pattern of the policy that covers `host`, or null.
 * @example coveringPattern({ mx: ['*.example.net'] }, 'mx1.example.net') // '*.example.net'
 */
export function coveringPattern(policy: Pick<MtaStsPolicy, 'mx'>, host: string): string | null {
  return policy.mx.find((p) => matchesMxPattern(p, host)) ?? null;
}
