/**
 * @module zone/presets
 * Hosted-mail providers' documented DNS records, as zone lines to paste, and recognising a provider from an
 * MX set (for the `provider.deviation` finding). The MX records follow RFC 5321 §5.1 (lowest preference
 * first) and RFC 7505 (none of these is a null MX); SPF is RFC 7208; the Microsoft 365 autodiscover CNAME is
 * Outlook's client set-up record.
 *
 * Sources (the providers' set-up pages, as of 2025): Google Workspace documents the single `1 smtp.google.com`
 * for new set-ups and still accepts the older five-host set (`1 aspmx.l.google.com`, `5 alt1/alt2`,
 * `10 alt3/alt4`, the set the primer shows); Microsoft 365 gives each domain one MX,
 * `0 <domain-with-dashes>.mail.protection.outlook.com` (newer tenants may get `*.mx.microsoft` instead).
 */
import { MxError } from '../core/errors.js';
import { canonicalName, normalizeName } from '../dns/name.js';
import type { DnsRecord } from '../dns/types.js';

export const PRESET_NAMES = ['google-workspace', 'google-workspace-legacy', 'microsoft-365'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export type ProviderId = 'google-workspace' | 'microsoft-365' | 'zoho' | 'fastmail' | 'proton' | 'yahoo' | 'icloud';

/** The records a provider documents for a domain, ready for `formatRecord`. */
export interface Preset {
  preset: PresetName;
  provider: ProviderId;
  /** The provider's name as people write it. */
  name: string;
  domain: string;
  records: DnsRecord[];
  /** What to check before pasting (tenant-specific names, old records to remove). */
  notes: string[];
}

const TTL = 3600;

const GOOGLE_CURRENT: ReadonlyArray<[number, string]> = [[1, 'smtp.google.com']];
const GOOGLE_LEGACY: ReadonlyArray<[number, string]> = [
  [1, 'aspmx.l.google.com'],
  [5, 'alt1.aspmx.l.google.com'],
  [5, 'alt2.aspmx.l.google.com'],
  [10, 'alt3.aspmx.l.google.com'],
  [10, 'alt4.aspmx.l.google.com'],
];

/**
 * The Microsoft 365 MX host for a domain: its dots become dashes (`contoso.com` → `contoso-com`), then
 * `.mail.protection.outlook.com`. Microsoft shows the exact name in the admin centre; it may differ.
 * @example microsoftMxHost('contoso.com') // 'contoso-com.mail.protection.outlook.com'
 */
export function microsoftMxHost(domain: string): string {
  return `${normalizeName(domain).replace(/\./g, '-')}.mail.protection.outlook.com`;
}

function record(name: string, type: DnsRecord['type'], data: unknown): DnsRecord {
  return { name, type, class: 'IN', ttl: TTL, data };
}

function mxRecords(domain: string, set: ReadonlyArray<[number, string]>): DnsRecord[] {
  return set.map(([preference, exchange]) => record(domain, 'MX', { preference, exchange }));
}

const spf = (domain: string, include: string, all: string) =>
  record(domain, 'TXT', [Buffer.from(`v=spf1 include:${include} ${all}`)]);

/**
 * The records a provider documents for `domain` (Unicode allowed; it is normalized). Throws MxError
 * MX_INVALID_ARGUMENT for an unknown preset, MX_INVALID_NAME for a bad domain.
 * @example preset('microsoft-365', 'contoso.com').records.map(formatRecord)
 * // ['contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.', …]
 */
export function preset(name: string, domainInput: string): Preset {
  const domain = normalizeName(domainInput);
  const replaceMx = 'remove every other MX record at the domain: mail would be split between providers';
  switch (name) {
    case 'google-workspace':
      return {
        preset: name,
        provider: 'google-workspace',
        name: 'Google Workspace',
        domain,
        records: [...mxRecords(domain, GOOGLE_CURRENT), spf(domain, '_spf.google.com', '~all')],
        notes: [
          replaceMx,
          'Google documents the single smtp.google.com for new set-ups; the five ASPMX hosts still work (google-workspace-legacy)',
        ],
      };
    case 'google-workspace-legacy':
      return {
        preset: name,
        provider: 'google-workspace',
        name: 'Google Workspace (legacy five-host set)',
        domain,
        records: [...mxRecords(domain, GOOGLE_LEGACY), spf(domain, '_spf.google.com', '~all')],
        notes: [replaceMx],
      };
    case 'microsoft-365': {
      const host = microsoftMxHost(domain);
      const notes = [
        replaceMx,
        `the MX host is derived from the domain; use the exact name the Microsoft 365 admin centre shows (it may add a suffix, or use *.mx.microsoft)`,
      ];
      if (host.split('.')[0]!.length > 63)
        notes.push('the derived host label is over 63 octets: take the name from Microsoft');
      return {
        preset: name,
        provider: 'microsoft-365',
        name: 'Microsoft 365',
        domain,
        records: [
          record(domain, 'MX', { preference: 0, exchange: host }),
          spf(domain, 'spf.protection.outlook.com', '-all'),
          record(`autodiscover.${domain}`, 'CNAME', 'autodiscover.outlook.com'),
        ],
        notes,
      };
    }
    default:
      throw new MxError(
        'MX_INVALID_ARGUMENT',
        `unknown preset ${JSON.stringify(name)} (known: ${PRESET_NAMES.join(', ')})`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Recognising a provider from an MX set

/** An MX as `detectProvider` takes it: a bare exchange name, `"PREF NAME"`, or the parsed pair. */
export type MxInput = string | { preference: number; exchange: string };

export interface ProviderMatch {
  provider: ProviderId;
  /** The provider's name as people write it. */
  name: string;
  /** The preset the set is compared with; null for providers only recognised. */
  preset: PresetName | null;
  /** How the set differs from the documented one, one sentence each (capitalised, with its full stop); empty when it matches. */
  deviations: string[];
}

interface Pattern {
  provider: ProviderId;
  name: string;
  test: RegExp;
}

const PATTERNS: readonly Pattern[] = [
  {
    provider: 'google-workspace',
    name: 'Google Workspace',
    test: /^(smtp\.google\.com|(alt\d+\.)?aspmx\.l\.google\.com|aspmx\d*\.googlemail\.com)$/,
  },
  {
    provider: 'microsoft-365',
    name: 'Microsoft 365',
    test: /^[a-z0-9-]+\.(mail\.protection\.(outlook\.com|office365\.us)|[a-z0-9-]+\.mx\.microsoft)$/,
  },
  { provider: 'zoho', name: 'Zoho Mail', test: /^mx\d*\.zoho(mail)?\.(com|eu|in|com\.au|jp|com\.cn|ca|sa)$/ },
  { provider: 'fastmail', name: 'Fastmail', test: /^in\d+-smtp\.messagingengine\.com$/ },
  { provider: 'proton', name: 'Proton Mail', test: /^mail(sec)?\.protonmail\.ch$/ },
  { provider: 'yahoo', name: 'Yahoo Mail', test: /\.yahoodns\.net$/ },
  { provider: 'icloud', name: 'iCloud Mail', test: /^mx\d+\.mail\.icloud\.com$/ },
];

function toMx(input: MxInput): { preference: number | null; exchange: string } {
  if (typeof input !== 'string') return { preference: input.preference, exchange: canonicalName(input.exchange) };
  const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(input);
  if (m) return { preference: Number(m[1]), exchange: canonicalName(m[2] as string) };
  return { preference: null, exchange: canonicalName(input.trim()) };
}

function providerOf(exchange: string): Pattern | null {
  return PATTERNS.find((p) => p.test.test(exchange)) ?? null;
}

/**
 * The hosted-mail provider one exchange belongs to (a lowercase name without the trailing dot), or null: what
 * `detectProvider` matches each exchange of a set against.
 * @example providerOfExchange('aspmx.l.google.com')?.provider // 'google-workspace'
 */
export function providerOfExchange(exchange: string): { provider: ProviderId; name: string } | null {
  const p = providerOf(exchange);
  return p && { provider: p.provider, name: p.name };
}

/** Dense ranks of preferences (`[10, 20, 20]` → `[0, 1, 1]`): what a sender's ordering depends on. */
function denseRanks(prefs: number[]): number[] {
  const distinct = [...new Set(prefs)].sort((a, b) => a - b);
  return prefs.map((p) => distinct.indexOf(p));
}

function googleDeviations(mx: { preference: number | null; exchange: string }[]): {
  preset: PresetName;
  deviations: string[];
} {
  const hosts = mx.map((m) => m.exchange);
  const current = hosts.includes('smtp.google.com');
  const legacy = hosts.some((h) => /aspmx/.test(h));
  const preset: PresetName =
    current && !legacy ? 'google-workspace' : legacy ? 'google-workspace-legacy' : 'google-workspace';
  const expected = preset === 'google-workspace' ? GOOGLE_CURRENT : GOOGLE_LEGACY;
  const deviations: string[] = [];
  if (current && legacy)
    deviations.push('The set mixes smtp.google.com with the legacy ASPMX hosts: use one set or the other.');
  for (const [pref, host] of expected) {
    if (!hosts.includes(host)) deviations.push(`Missing ${host} (Google documents it at preference ${pref}).`);
  }
  const documented = new Set<string>([...GOOGLE_CURRENT, ...GOOGLE_LEGACY].map(([, h]) => h));
  for (const m of mx) {
    if (!documented.has(m.exchange)) deviations.push(`Extra host ${m.exchange}: not in Google's documented set.`);
  }
  deviations.push(...preferenceDeviations(mx, expected, 'Google'));
  return { preset, deviations };
}

// Preferences are compared by the order they give (RFC 5321 §5.1), not their numbers: 10/20/20/30/30 behaves
// exactly as Google's 1/5/5/10/10. The documented hosts must come first and keep their relative order.
function preferenceDeviations(
  mx: { preference: number | null; exchange: string }[],
  expected: ReadonlyArray<[number, string]>,
  who: string,
): string[] {
  const known = mx.filter((m) => m.preference !== null && expected.some(([, h]) => h === m.exchange));
  if (known.length === 0) return [];
  const out: string[] = [];
  const documentedPref = (h: string) => expected.find(([, e]) => e === h)?.[0] ?? 0;
  const actual = denseRanks(known.map((m) => m.preference as number));
  const wanted = denseRanks(known.map((m) => documentedPref(m.exchange)));
  known.forEach((m, i) => {
    if (actual[i] !== wanted[i])
      out.push(
        `Host ${m.exchange} has preference ${m.preference}; ${who} documents ${documentedPref(m.exchange)}, which orders it differently.`,
      );
  });
  const lowestKnown = Math.min(...known.map((m) => m.preference as number));
  for (const m of mx) {
    if (m.preference !== null && m.preference < lowestKnown && !known.includes(m))
      out.push(
        `Host ${m.exchange} (preference ${m.preference}) comes before the ${who} hosts and takes the mail first.`,
      );
  }
  return out;
}

function microsoftDeviations(mx: { preference: number | null; exchange: string }[], domain: string | null): string[] {
  const deviations: string[] = [];
  const ours = mx.filter((m) => providerOf(m.exchange)?.provider === 'microsoft-365');
  if (ours.length > 1)
    deviations.push(`There are ${ours.length} Microsoft 365 hosts: Microsoft documents exactly one per domain.`);
  for (const m of mx) {
    if (!ours.includes(m)) deviations.push(`Extra host ${m.exchange}: Microsoft 365 documents a single MX.`);
  }
  const first = ours[0];
  if (first && first.preference !== null) {
    const lower = mx.filter((m) => m.preference !== null && m.preference < (first.preference as number));
    for (const m of lower)
      deviations.push(
        `Host ${m.exchange} (preference ${m.preference}) comes before ${first.exchange} and takes the mail first.`,
      );
  }
  if (domain !== null && first && first.exchange.endsWith('.mail.protection.outlook.com')) {
    const label = domain.replace(/\./g, '-');
    if (!first.exchange.startsWith(label))
      deviations.push(
        `Host ${first.exchange} does not start with ${label}: check the name the Microsoft 365 admin centre shows.`,
      );
  }
  return deviations;
}

/**
 * Recognises the hosted-mail provider behind an MX set (by its exchanges' names) and, for Google Workspace
 * and Microsoft 365, lists how the set deviates from the documented records: missing or extra hosts, and
 * preferences that order the hosts differently. The provider is the one of the most preferred recognised
 * host. Null when no exchange is recognised. `options.domain` lets the Microsoft 365 host name be checked.
 * @example detectProvider(['1 aspmx.l.google.com', '5 alt1.aspmx.l.google.com'])
 * // { provider: 'google-workspace', preset: 'google-workspace-legacy', deviations: ['missing alt2…', …], … }
 */
export function detectProvider(exchanges: MxInput[], options: { domain?: string } = {}): ProviderMatch | null {
  const mx = exchanges.map(toMx).filter((m) => m.exchange !== '');
  const recognised = mx
    .map((m) => ({ m, p: providerOf(m.exchange) }))
    .filter((x): x is { m: (typeof mx)[number]; p: Pattern } => x.p !== null)
    .sort((a, b) => (a.m.preference ?? 0) - (b.m.preference ?? 0));
  const top = recognised[0];
  if (!top) return null;
  const base = { provider: top.p.provider, name: top.p.name };
  switch (top.p.provider) {
    case 'google-workspace':
      return { ...base, ...googleDeviations(mx) };
    case 'microsoft-365':
      return {
        ...base,
        preset: 'microsoft-365',
        deviations: microsoftDeviations(mx, options.domain === undefined ? null : canonicalName(options.domain)),
      };
    default:
      return { ...base, preset: null, deviations: [] };
  }
}
