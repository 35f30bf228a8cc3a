/**
 * @module auth/spf/analyze
 * What a domain's SPF policy costs and whether it can work, found without a sender or client address (as
 * checkdmarc and MXToolbox do): the record is fetched (RFC 7208 §4.4, §4.5), parsed strictly (§4.6), and every
 * `include:` and `redirect=` is followed, so that the DNS-querying terms are counted over the whole tree.
 * RFC 7208 §4.6.4 caps them at 10 per evaluation and void look-ups (NXDOMAIN or no answer) at 2; evaluation
 * only counts what it reaches, so a record can pass for one sender and permerror for the next. Counting every
 * term is the worst case, which is what a publisher must keep under the limits.
 * Also: an `mx` whose target has more than 10 exchanges is a permerror (§4.6.4), includes and redirects to a
 * domain without SPF are permerrors (§5.2, §6.1), and a loop of includes never ends below the limit. Terms
 * with macros (`%{i}`) depend on the message: they are counted but cannot be followed.
 */
import type { CallOptions, DnsOutcome, Resolver } from '../../dns/resolver.js';
import { lookupPolicyRecord } from '../txt.js';
import type { SpfQualifier, SpfRecord, SpfTerm } from './record.js';
import { hasMacro, isSpfRecord, lookupTerms, parseSpfRecord } from './record.js';

/** RFC 7208 §4.6.4. */
export const SPF_LOOKUP_LIMIT = 10;
export const SPF_VOID_LIMIT = 2;
/** TXT records fetched at most while following includes, so a huge or looping tree cannot run away. */
const MAX_RECORDS = 40;

/** How a record in the tree turned out. */
export type SpfNodeStatus =
  | 'ok'
  /** No SPF record: at the top this is "none"; below an include or redirect it is a permerror. */
  | 'none'
  | 'multiple'
  | 'syntax'
  /** The TXT look-up failed (timeout, SERVFAIL): a temperror for senders. */
  | 'dns-failure'
  /** The domain is already being evaluated higher up: a loop. */
  | 'loop'
  /** Not fetched: the tree already fetched MAX_RECORDS records. */
  | 'not-followed';

/** One record of the tree: the domain's own, or one reached through include/redirect. */
export interface SpfNode {
  domain: string;
  via: 'top' | 'include' | 'redirect';
  status: SpfNodeStatus;
  record: string | null;
  /** Why the status is not ok, in words. */
  error: string | null;
  /** DNS-querying terms in this record alone. */
  lookups: number;
  /** The TXT look-up itself was void (NXDOMAIN or no TXT at all), which counts against the limit of 2. */
  voidLookup: 'nxdomain' | 'nodata' | null;
  children: SpfNode[];
}

/** One DNS-querying term, where it was met. */
export interface SpfLookupTerm {
  domain: string;
  term: string;
  /** The term depends on the message (a macro), so it was counted but not resolved. */
  macro: boolean;
}

/** A term whose target had no answer (RFC 7208 §4.6.4 void look-up). */
export interface SpfVoidLookup {
  domain: string;
  term: string;
  target: string;
  outcome: 'nxdomain' | 'nodata';
}

export interface SpfAnalysis {
  domain: string;
  /** The top-level record look-up: `found`, `none`, `multiple` or `failed` (DNS trouble). */
  lookup: 'found' | 'none' | 'multiple' | 'failed';
  /** The SPF records found at the top (one when `found`, several when `multiple`). */
  records: string[];
  /** The parsed top-level record, when it parses. */
  parsed: SpfRecord | null;
  /** The top-level syntax error, when it does not. */
  syntaxError: { error: string; term: string | null } | null;
  /** The DNS failure of the top-level look-up, in words. */
  failure: string | null;
  tree: SpfNode | null;
  /** Every DNS-querying term in the tree, counted as evaluation would if it reached them all. */
  lookupTerms: SpfLookupTerm[];
  voidLookups: SpfVoidLookup[];
  /** `mx` terms whose target has more than 10 exchanges (RFC 7208 §4.6.4 permerror). */
  mxOverLimit: { domain: string; term: string; target: string; exchanges: number }[];
  /** How evaluation ends for a host no term matches, following redirects; null when the record is unusable. */
  ending: SpfEnding | null;
  /** Includes whose record ends in `+all` (or passes everyone): they make the including term match anyone. */
  passAllIncludes: { domain: string; term: string }[];
  /** Records were left unfetched because the tree was too large. */
  truncated: boolean;
}

/**
 * How evaluation ends when no mechanism matches: at an `all` (its qualifier, and the record it is in), at the
 * default neutral of a record with neither `all` nor `redirect` (RFC 7208 §4.7), or unknown (a redirect that
 * depends on a macro or leads to an unusable record).
 */
export type SpfEnding =
  | { kind: 'all'; qualifier: SpfQualifier; domain: string }
  | { kind: 'default'; domain: string }
  | { kind: 'unknown'; domain: string };

export interface AnalyzeOptions extends CallOptions {
  resolver: Resolver;
}

const voidKind = (o: DnsOutcome): 'nxdomain' | 'nodata' | null =>
  o.kind === 'nxdomain' || o.kind === 'nodata' ? o.kind : null;

function describe(o: DnsOutcome): string {
  return o.kind === 'timeout' ? `no reply within ${o.timeoutMs} ms from ${o.server}` : `${o.kind} from ${o.server}`;
}

/**
 * Fetches and analyses a domain's SPF policy.
 * @example
 * const a = await analyzeSpf('example.com', { resolver });
 * if (a.lookupTerms.length > SPF_LOOKUP_LIMIT) console.log('permerror for some senders');
 */
export async function analyzeSpf(domain: string, options: AnalyzeOptions): Promise<SpfAnalysis> {
  options.signal?.throwIfAborted();
  const { resolver } = options;
  const call: CallOptions = { signal: options.signal };
  const analysis: SpfAnalysis = {
    domain,
    lookup: 'none',
    records: [],
    parsed: null,
    syntaxError: null,
    failure: null,
    tree: null,
    lookupTerms: [],
    voidLookups: [],
    mxOverLimit: [],
    ending: null,
    passAllIncludes: [],
    truncated: false,
  };
  let fetched = 0;

  /** Fetches and walks one record; `path` holds the domains being evaluated above it. */
  async function visit(name: string, via: SpfNode['via'], path: readonly string[]): Promise<SpfNode> {
    const node: SpfNode = {
      domain: name,
      via,
      status: 'ok',
      record: null,
      error: null,
      lookups: 0,
      voidLookup: null,
      children: [],
    };
    if (path.includes(name)) {
      node.status = 'loop';
      node.error = `${name} is reached again through ${[...path, name].join(' → ')}: evaluation loops until it hits the limit of ${SPF_LOOKUP_LIMIT} look-ups`;
      return node;
    }
    if (fetched >= MAX_RECORDS) {
      node.status = 'not-followed';
      analysis.truncated = true;
      return node;
    }
    fetched++;
    const found = await lookupPolicyRecord(resolver, name, isSpfRecord, call);
    switch (found.kind) {
      case 'failed':
        node.status = 'dns-failure';
        node.error = `the TXT look-up failed: ${describe(found.outcome)}`;
        if (via === 'top') {
          analysis.lookup = 'failed';
          analysis.failure = node.error;
        }
        return node;
      case 'none':
        node.status = 'none';
        node.error = found.nxdomain ? `${name} does not exist` : `${name} has no SPF record`;
        if (found.nxdomain) node.voidLookup = 'nxdomain';
        else if (found.txt.length === 0) node.voidLookup = 'nodata';
        return node;
      case 'multiple':
        node.status = 'multiple';
        node.error = `${name} has ${found.records.length} SPF records; RFC 7208 §4.5 makes that a permerror`;
        if (via === 'top') {
          analysis.lookup = 'multiple';
          analysis.records = found.records;
        }
        return node;
      case 'found':
        break;
    }
    node.record = found.record;
    if (via === 'top') {
      analysis.lookup = 'found';
      analysis.records = [found.record];
    }
    const parsed = parseSpfRecord(found.record);
    if (!parsed.ok) {
      node.status = 'syntax';
      node.error = parsed.term ? `${parsed.error} (in "${parsed.term}")` : parsed.error;
      if (via === 'top') analysis.syntaxError = { error: parsed.error, term: parsed.term };
      return node;
    }
    if (via === 'top') analysis.parsed = parsed.record;
    const terms = lookupTerms(parsed.record);
    node.lookups = terms.length;
    for (const term of terms) await visitTerm(name, term, node, [...path, name]);
    return node;
  }

  async function visitTerm(name: string, term: SpfTerm, node: SpfNode, path: readonly string[]): Promise<void> {
    const spec = term.type === 'mechanism' ? term.domainSpec : term.value;
    const macro = spec !== null && hasMacro(spec);
    analysis.lookupTerms.push({ domain: name, term: term.text, macro });
    if (macro) return;
    const target = (spec ?? name).replace(/\.$/, '').toLowerCase();
    const addVoid = (outcome: 'nxdomain' | 'nodata') =>
      analysis.voidLookups.push({ domain: name, term: term.text, target, outcome });
    if (term.type === 'modifier' || term.mechanism === 'include') {
      const child = await visit(target, term.type === 'modifier' ? 'redirect' : 'include', path);
      node.children.push(child);
      if (child.voidLookup) addVoid(child.voidLookup);
      return;
    }
    switch (term.mechanism) {
      case 'a': {
        // A void look-up is a name with neither A nor AAAA records (mailauth's dual-stack rule, and the
        // intent of §4.6.4: the name answers nothing this mechanism could match).
        const [a, aaaa] = await Promise.all([
          resolver.resolve({ name: target, type: 'A' }, call),
          resolver.resolve({ name: target, type: 'AAAA' }, call),
        ]);
        const va = voidKind(a);
        if (va && voidKind(aaaa)) addVoid(va === 'nxdomain' && aaaa.kind === 'nxdomain' ? 'nxdomain' : 'nodata');
        return;
      }
      case 'mx': {
        const mx = await resolver.resolve({ name: target, type: 'MX' }, call);
        const v = voidKind(mx);
        if (v) addVoid(v);
        if (mx.kind === 'answer') {
          const exchanges = mx.records.filter((r) => r.type === 'MX').length;
          if (exchanges > SPF_LOOKUP_LIMIT)
            analysis.mxOverLimit.push({ domain: name, term: term.text, target, exchanges });
        }
        return;
      }
      case 'exists': {
        const a = await resolver.resolve({ name: target, type: 'A' }, call);
        const v = voidKind(a);
        if (v) addVoid(v);
        return;
      }
      default:
        // ptr depends on the client address: counted, not resolved.
        return;
    }
  }

  analysis.tree = await visit(domain.toLowerCase(), 'top', []);
  if (analysis.parsed) analysis.ending = ending(analysis.tree, analysis.parsed);
  collectPassAll(analysis.tree, analysis.passAllIncludes);
  return analysis;
}

/** How evaluation of `record` (at `node`) ends, following `redirect=` (ignored when `all` exists, §6.1). */
function ending(node: SpfNode, record: SpfRecord): SpfEnding {
  if (record.all !== null) return { kind: 'all', qualifier: record.all, domain: node.domain };
  if (record.redirect === null) return { kind: 'default', domain: node.domain };
  const next = node.children.find((c) => c.via === 'redirect');
  const parsed = next?.status === 'ok' && next.record ? parseSpfRecord(next.record) : null;
  return next && parsed?.ok ? ending(next, parsed.record) : { kind: 'unknown', domain: node.domain };
}

/** Included records that pass everyone (`+all`, or `all` reached through their redirects). */
function collectPassAll(node: SpfNode, out: SpfAnalysis['passAllIncludes']): void {
  for (const child of node.children) {
    if (child.via === 'include' && child.record) {
      const parsed = parseSpfRecord(child.record);
      const end = parsed.ok ? ending(child, parsed.record) : null;
      if (end?.kind === 'all' && end.qualifier === '+')
        out.push({ domain: node.domain, term: `include:${child.domain}` });
    }
    collectPassAll(child, out);
  }
}
