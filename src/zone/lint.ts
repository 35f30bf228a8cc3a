/**
 * @module zone/lint
 * `mxray zone lint`: the checks that need nothing but the zone file, reported with file and line. The ids are
 * those of `mxray check` (check/findings.ts) where a rule is the same one, seen from the file:
 * - mx.null-with-others (RFC 7505 §3), mx.single, mx.duplicate, mx.ttl-low, mx.wildcard (RFC 4592: a
 *   wildcard MX answers for every name that does not exist);
 * - mx.cname-target (RFC 2181 §10.3, RFC 5321 §5.1: an exchange must not be an alias), mx.ip-literal
 *   (RFC 5321 §5.1: the exchange is a host name; `10 192.0.2.1` is a name made of digits nobody resolves),
 *   mx.no-address (an in-zone exchange without A/AAAA in the file), mx.shared-address (two exchanges of one
 *   MX set with one address in the file);
 * - spf.multiple (RFC 7208 §4.5: more than one SPF record is a permerror), spf.syntax (§12);
 * - dmarc.syntax (RFC 7489 §6.3–6.4).
 * A file `parseZone` refuses yields one `zone.syntax` issue (or `zone.conflict` for RFC 1034 §3.6.2 CNAME
 * conflicts) with the line from the parser's message, and no rule runs on it.
 */
import { isIP } from 'node:net';
import type { Finding, FindingId, Severity } from '../check/findings.js';
import { finding } from '../check/findings.js';
import { isMxError } from '../core/errors.js';
import { isSubdomain } from '../dns/name.js';
import type { DnsRecord } from '../dns/types.js';
import type { Zone } from '../lab/zone.js';
import { parseZone } from '../lab/zone.js';
import { recordEntries } from './lines.js';
import type { RecordEntry } from './lines.js';
import { checkDmarcSyntax, checkSpfSyntax, isSpfText, txtText } from './mail-txt.js';
import { detectProvider } from './presets.js';

/** Issue ids: the finding ids, plus the two for a file that cannot be read as a zone. */
export type LintId = FindingId | 'zone.syntax' | 'zone.conflict';

/** One problem, located: the `mxray zone lint --json` element. */
export interface LintIssue {
  file: string;
  /** The line the record (or the error) is on, 1-based. */
  line: number;
  id: LintId;
  severity: Severity;
  /** The name, record or host it is about. */
  subject: string;
  message: string;
}

export interface LintFileResult {
  file: string;
  /** The zone's origin ('' for the root); null when the file did not parse. */
  origin: string | null;
  records: number;
  issues: LintIssue[];
  /** True when the file could not be parsed (the issues then hold just that error). */
  unreadable: boolean;
}

/** MX TTLs under this many seconds get mx.ttl-low. */
export const MX_TTL_LOW_SECONDS = 300;

interface Located {
  record: DnsRecord;
  line: number;
  tokens: string[];
}

interface MxData {
  preference: number;
  exchange: string;
}

const mxOf = (r: DnsRecord) => r.data as MxData;
const show = (name: string) => (name === '' ? '.' : `${name}.`);

/**
 * Lints zone-file text. Never throws for bad zone text: a syntax error becomes the file's one issue.
 * @example
 * const result = lintZoneText('$ORIGIN a.example.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n@ MX 10 mail\n', { file: 'a.zone' });
 * result.issues.map((i) => i.id) // ['mx.single', 'mx.no-address']
 */
export function lintZoneText(text: string, options: { file: string; origin?: string }): LintFileResult {
  const { file } = options;
  let zone: Zone;
  try {
    zone = parseZone(text, { file, ...(options.origin === undefined ? {} : { origin: options.origin }) });
  } catch (err) {
    if (!isMxError(err, 'MX_ZONE_SYNTAX') && !isMxError(err, 'MX_ZONE_CONFLICT')) throw err;
    // The parser's messages are `file:line: what`; take the line back out and keep the rest.
    const m = /^(?:.*?):(\d+): ([\s\S]*)$/.exec(err.message);
    const line = m ? Number(m[1]) : 1;
    const id = err.code === 'MX_ZONE_CONFLICT' ? 'zone.conflict' : 'zone.syntax';
    const message = m ? (m[2] as string) : err.message;
    return {
      file,
      origin: null,
      records: 0,
      unreadable: true,
      issues: [{ file, line, id, severity: 'error', subject: file, message }],
    };
  }
  const entries = recordEntries(text);
  return {
    file,
    origin: zone.origin,
    records: zone.records.length,
    unreadable: false,
    issues: lintZone(zone, entries, file),
  };
}

/**
 * The rules over a parsed zone. `entries` are the file's record entries (zone/lines.ts), one per record in
 * the same order, for line numbers and the tokens as written; when they do not line up, lines are 0.
 */
export function lintZone(zone: Zone, entries: readonly RecordEntry[], file: string): LintIssue[] {
  const aligned = entries.length === zone.records.length;
  const located: Located[] = zone.records.map((record, i) => ({
    record,
    line: aligned ? (entries[i]?.line ?? 0) : 0,
    tokens: aligned ? (entries[i]?.tokens ?? []) : [],
  }));
  const issues: LintIssue[] = [];
  const add = (at: Located, f: Finding) =>
    issues.push({ file, line: at.line, id: f.id, severity: f.severity, subject: f.subject, message: f.message });

  const byOwner = new Map<string, Located[]>();
  for (const l of located) byOwner.set(l.record.name, [...(byOwner.get(l.record.name) ?? []), l]);
  const at = (name: string, type: string) => (byOwner.get(name) ?? []).filter((l) => l.record.type === type);

  const nodes = existingNames(byOwner.keys(), zone.origin);
  for (const [owner, here] of byOwner) {
    const mx = here.filter((l) => l.record.type === 'MX');
    if (mx.length > 0) lintMxSet(zone, nodes, owner, mx, at, add);
    lintTxt(
      owner,
      here.filter((l) => l.record.type === 'TXT'),
      add,
    );
  }
  return issues.sort((a, b) => a.line - b.line);
}

function lintMxSet(
  zone: Zone,
  nodes: ReadonlySet<string>,
  owner: string,
  mx: Located[],
  at: (name: string, type: string) => Located[],
  add: (l: Located, f: Finding) => void,
): void {
  const nulls = mx.filter((l) => mxOf(l.record).exchange === '');
  const real = mx.filter((l) => mxOf(l.record).exchange !== '');
  const domain = show(owner);

  if (nulls.length > 0 && real.length > 0) {
    for (const l of nulls)
      add(
        l,
        finding(
          'mx.null-with-others',
          domain,
          `${domain} has a null MX ("0 .") beside ${real.length} other MX record(s); RFC 7505 §3: the null MX must be the only one — remove it or the others`,
        ),
      );
  }
  if (owner === '*' || owner.startsWith('*.')) {
    add(
      mx[0] as Located,
      finding(
        'mx.wildcard',
        domain,
        `${domain} is a wildcard with MX: every name under ${show(owner.replace(/^\*\.?/, ''))} that does not exist gets these MX records (RFC 4592); give each mail domain its own MX`,
      ),
    );
  }

  const exchanges = [...new Set(real.map((l) => mxOf(l.record).exchange))];
  if (exchanges.length === 1 && nulls.length === 0) {
    const provider = detectProvider(real.map((l) => mxOf(l.record)));
    const why =
      provider?.provider === 'microsoft-365' || provider?.preset === 'google-workspace'
        ? `; ${provider.name} documents a single MX and keeps its redundancy behind the name`
        : '; add a second host at a higher preference';
    add(
      real[0] as Located,
      finding(
        'mx.single',
        domain,
        `${domain} has one MX host (${show(exchanges[0] as string)}): no fallback when it is unreachable${why}`,
      ),
    );
  }

  const seen = new Map<string, Located>();
  for (const l of real) {
    const ex = mxOf(l.record).exchange;
    const first = seen.get(ex);
    if (first)
      add(
        l,
        finding(
          'mx.duplicate',
          show(ex),
          `${show(ex)} is listed again at ${domain} (first on line ${first.line}); senders try it once — remove the repeat`,
        ),
      );
    else seen.set(ex, l);
  }

  for (const l of mx) {
    if (l.record.ttl < MX_TTL_LOW_SECONDS) {
      add(
        l,
        finding(
          'mx.ttl-low',
          domain,
          `MX TTL ${l.record.ttl} s at ${domain} is under ${MX_TTL_LOW_SECONDS} s: resolvers ask again that often, and a DNS outage hits mail sooner`,
        ),
      );
      break; // one RRset, one TTL worth saying
    }
  }

  const addresses = new Map<string, string[]>();
  for (const ex of exchanges) {
    const l = seen.get(ex) as Located;
    const written = (l.tokens.at(-1) ?? '').replace(/\.$/, '');
    if (isIP(written) !== 0) {
      add(
        l,
        finding(
          'mx.ip-literal',
          written,
          `the exchange "${written}" is an IP address written as a name (read as ${show(ex)}); RFC 5321 §5.1 needs a host name: point the MX at a name with an A record`,
        ),
      );
      continue;
    }
    if (at(ex, 'CNAME').length > 0) {
      add(
        l,
        finding(
          'mx.cname-target',
          show(ex),
          `${show(ex)} is a CNAME (line ${at(ex, 'CNAME')[0]!.line}); RFC 2181 §10.3: an MX must name the host itself — use the CNAME's target`,
        ),
      );
      continue;
    }
    if (!isSubdomain(ex, zone.origin)) continue; // its addresses live in another zone
    const found = [...at(ex, 'A'), ...at(ex, 'AAAA'), ...wildcardAddresses(ex, zone.origin, nodes, at)];
    if (found.length === 0) {
      if (belowDelegation(ex, zone.origin, at)) continue; // the child zone holds them; the lint cannot see it
      add(
        l,
        finding(
          'mx.no-address',
          show(ex),
          `${show(ex)} has no A or AAAA record in this file; senders skip the exchange — add its address`,
        ),
      );
      continue;
    }
    for (const a of found) {
      const address = String(a.record.data);
      addresses.set(address, [...(addresses.get(address) ?? []), ex]);
    }
  }
  for (const [address, hosts] of addresses) {
    const distinct = [...new Set(hosts)];
    if (distinct.length < 2) continue;
    add(
      seen.get(distinct[1] as string) as Located,
      finding(
        'mx.shared-address',
        address,
        `${listHosts(distinct)} (MX of ${domain}) share the address ${address}: one machine down takes both — give each its own`,
      ),
    );
  }
}

// Two or three hosts by name; more as the first two and a count, so one line stays readable.
function listHosts(hosts: string[]): string {
  if (hosts.length <= 3) return hosts.map(show).join(' and ');
  return `${hosts.slice(0, 2).map(show).join(', ')} and ${hosts.length - 2} more exchanges`;
}

// RFC 4592 §3.3.1: a name that does not exist is covered by the wildcard at its closest encloser (the
// nearest ancestor that exists, empty non-terminals included), and only by that one.
function wildcardAddresses(
  name: string,
  origin: string,
  nodes: ReadonlySet<string>,
  at: (name: string, type: string) => Located[],
): Located[] {
  if (nodes.has(name)) return [];
  let n = name;
  while (n !== origin) {
    const dot = n.indexOf('.');
    n = dot < 0 ? '' : n.slice(dot + 1);
    if (!isSubdomain(n, origin)) return [];
    if (!nodes.has(n)) continue;
    const star = n === '' ? '*' : `*.${n}`;
    return [...at(star, 'A'), ...at(star, 'AAAA')];
  }
  return [];
}

/** Every owner name and each of its ancestors down to the origin (empty non-terminals exist, RFC 8020). */
function existingNames(owners: Iterable<string>, origin: string): Set<string> {
  const nodes = new Set<string>([origin]);
  for (const owner of owners) {
    for (let n = owner; isSubdomain(n, origin) && !nodes.has(n);) {
      nodes.add(n);
      const dot = n.indexOf('.');
      if (dot < 0) break;
      n = n.slice(dot + 1);
    }
  }
  return nodes;
}

// A name at or below an NS RRset other than the apex's belongs to a child zone (RFC 1034 §4.2.1).
function belowDelegation(name: string, origin: string, at: (name: string, type: string) => Located[]): boolean {
  for (let n = name; n !== origin && isSubdomain(n, origin); n = n.slice(n.indexOf('.') + 1)) {
    if (at(n, 'NS').length > 0) return true;
    if (!n.includes('.')) break;
  }
  return false;
}

function lintTxt(owner: string, txt: Located[], add: (l: Located, f: Finding) => void): void {
  const name = show(owner);
  const spf = txt.filter((l) => isSpfText(txtText(l.record.data)));
  if (spf.length > 1) {
    for (const l of spf.slice(1))
      add(
        l,
        finding(
          'spf.multiple',
          name,
          `${name} has ${spf.length} SPF records (first on line ${spf[0]!.line}); RFC 7208 §4.5: receivers return permerror — merge them into one`,
        ),
      );
  }
  for (const l of spf) {
    const problems = checkSpfSyntax(txtText(l.record.data));
    if (problems.length > 0) add(l, finding('spf.syntax', name, `SPF at ${name}: ${problems.join('; ')}`));
  }
  if (owner === '_dmarc' || owner.startsWith('_dmarc.')) {
    for (const l of txt) {
      const problems = checkDmarcSyntax(txtText(l.record.data));
      if (problems.length > 0) add(l, finding('dmarc.syntax', name, `DMARC at ${name}: ${problems.join('; ')}`));
    }
    const dmarc = txt.filter((l) => txtText(l.record.data).startsWith('v=DMARC1'));
    if (dmarc.length > 1)
      add(
        dmarc[1] as Located,
        finding(
          'dmarc.syntax',
          name,
          `${name} has ${dmarc.length} DMARC records (first on line ${dmarc[0]!.line}); RFC 7489 §6.6.3: with more than one, receivers apply no DMARC policy — keep one`,
        ),
      );
  }
}
