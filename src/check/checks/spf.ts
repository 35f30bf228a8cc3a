/**
 * @module check/checks/spf
 * The SPF part of `mxray check` (RFC 7208): one record at the domain (§4.5), that parses (§4.6), that stays
 * within 10 DNS-querying terms and 2 void look-ups counted through every include and redirect (§4.6.4), and
 * that ends in `-all` or `~all` rather than letting anyone through (`+all`, `?all`, or no `all`, whose
 * default result is neutral, §4.7). It also evaluates the policy for every MX address as the sending IP:
 * MX hosts often send bounces and forwarded mail, and a domain whose own MX hosts fail its SPF is worth
 * knowing about (reported in data; there is no finding id for it).
 */
import { analyzeSpf, SPF_LOOKUP_LIMIT, SPF_VOID_LIMIT } from '../../auth/spf/analyze.js';
import type { SpfAnalysis, SpfNode } from '../../auth/spf/analyze.js';
import { evaluateSpf } from '../../auth/spf/evaluate.js';
import type { SpfResult } from '../../auth/spf/evaluate.js';
import type { Check, CheckContext } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/** One MX address evaluated as the sender's IP. */
export interface MxSpfRow {
  exchange: string;
  address: string;
  result: SpfResult;
  comment: string;
}

const QUALIFIER_WORD: Record<string, string> = { '+': 'pass', '?': 'neutral', '~': 'softfail', '-': 'fail' };

/**
 * The SPF check module.
 * @example const { findings, data } = await checkSpf(ctx); // data.lookups.count, data.mxAuthorised, …
 */
export const checkSpf: Check = async (ctx) => {
  const analysis = await analyzeSpf(ctx.domain, { resolver: ctx.resolver, signal: ctx.signal });
  const findings = spfFindings(ctx.domain, analysis);
  const mxHosts = analysis.lookup === 'found' ? await evaluateMxHosts(ctx) : [];
  const mxNotAuthorised = mxHosts
    .filter((r) => r.result !== 'pass')
    .map(
      (r) =>
        `${r.exchange} (${r.address}) gets "${r.result}" as a sender for ${ctx.domain}: bounces and forwarded mail it sends ` +
        `from ${ctx.domain} fail SPF; add it to the record (the "mx" mechanism or ip4:/ip6:) if it sends mail`,
    );
  return {
    findings,
    data: {
      lookup: analysis.lookup,
      record: analysis.records.length === 1 ? analysis.records[0] : null,
      records: analysis.records,
      failure: analysis.failure,
      syntaxError: analysis.syntaxError,
      lookups: {
        count: analysis.lookupTerms.length,
        limit: SPF_LOOKUP_LIMIT,
        void: analysis.voidLookups.length,
        voidLimit: SPF_VOID_LIMIT,
        terms: analysis.lookupTerms,
        voidLookups: analysis.voidLookups,
        truncated: analysis.truncated,
      },
      ending: analysis.ending,
      tree: analysis.tree,
      mxHosts,
      mxAuthorised: mxHosts.length === 0 ? null : mxHosts.every((r) => r.result === 'pass'),
      mxNotAuthorised,
    },
  };
};

/** Evaluates SPF for every MX address as client IP, with `postmaster@<domain>` as sender and the MX as HELO. */
async function evaluateMxHosts(ctx: CheckContext): Promise<MxSpfRow[]> {
  const jobs = ctx.route.hosts.flatMap((h) => h.addresses.map((address) => ({ exchange: h.exchange, address })));
  return Promise.all(
    jobs.map(async ({ exchange, address }) => {
      const r = await evaluateSpf(
        { ip: address, sender: `postmaster@${ctx.domain}`, helo: exchange },
        { resolver: ctx.resolver, signal: ctx.signal },
      );
      return { exchange, address, result: r.result, comment: r.comment };
    }),
  );
}

/**
 * The findings an analysis supports (pure, so each rule is tested without DNS).
 * @example spfFindings('example.com', await analyzeSpf('example.com', { resolver })) // [{ id: 'spf.permissive-all', … }]
 */
export function spfFindings(domain: string, a: SpfAnalysis): Finding[] {
  switch (a.lookup) {
    case 'failed':
      // A DNS failure is not a missing record: say nothing we cannot back (the data holds the failure).
      return [];
    case 'none':
      return [
        finding(
          'spf.none',
          domain,
          `${domain} publishes no SPF record, so receivers cannot tell mail from your servers apart from forgeries. ` +
            `Publish one TXT record at ${domain} listing every host that sends its mail, e.g. "v=spf1 mx -all" ` +
            `(or "v=spf1 -all" if the domain sends no mail).`,
          { name: domain },
        ),
      ];
    case 'multiple':
      return [
        finding(
          'spf.multiple',
          domain,
          `${domain} has ${a.records.length} SPF records; RFC 7208 §4.5 makes that a permerror, so no receiver can ` +
            `authenticate its mail. Merge them into one TXT record starting "v=spf1" and delete the others.`,
          { records: a.records },
        ),
      ];
    case 'found':
      break;
  }
  const out: Finding[] = [];
  const record = a.records[0] ?? '';
  if (a.syntaxError) {
    out.push(
      finding(
        'spf.syntax',
        domain,
        `The SPF record of ${domain} does not parse: ${a.syntaxError.error}` +
          (a.syntaxError.term ? ` (in "${a.syntaxError.term}")` : '') +
          `. Receivers return permerror for every message (RFC 7208 §4.6). Correct the term; the grammar is RFC 7208 §12.`,
        { record, error: a.syntaxError.error, term: a.syntaxError.term },
      ),
    );
    return out;
  }
  for (const { node, parent } of descendants(a.tree)) {
    const how = node.via === 'include' ? `include:${node.domain}` : `redirect=${node.domain}`;
    if (node.status === 'none' || node.status === 'multiple' || node.status === 'syntax') {
      out.push(
        finding(
          'spf.syntax',
          node.domain,
          `"${how}" in the SPF record of ${parent} leads to a record that cannot be used (${node.error}); any ` +
            `evaluation that reaches it is a permerror (RFC 7208 §5.2, §6.1). Fix the target's record or remove "${how}".`,
          { record: node.record, from: parent, term: how, status: node.status, error: node.error },
        ),
      );
    }
    if (node.status === 'loop') {
      out.push(
        finding(
          'spf.too-many-lookups',
          node.domain,
          `"${how}" in the SPF record of ${parent} loops back: ${node.error}, so receivers return permerror ` +
            `(RFC 7208 §4.6.4). Remove the include or redirect that closes the loop.`,
          { from: parent, term: how, limit: SPF_LOOKUP_LIMIT },
        ),
      );
    }
  }
  const count = a.lookupTerms.length;
  if (count > SPF_LOOKUP_LIMIT) {
    out.push(
      finding(
        'spf.too-many-lookups',
        domain,
        `The SPF policy of ${domain} needs ${count} DNS look-ups (include, a, mx, ptr, exists and redirect, counted ` +
          `through every include); RFC 7208 §4.6.4 allows ${SPF_LOOKUP_LIMIT}, so receivers that get that far return ` +
          `permerror and your mail fails SPF. Replace includes with the ip4:/ip6: ranges they stand for, drop ` +
          `mechanisms that no longer send, and avoid ptr.`,
        { record, count, limit: SPF_LOOKUP_LIMIT, terms: a.lookupTerms },
      ),
    );
  }
  for (const mx of a.mxOverLimit) {
    out.push(
      finding(
        'spf.too-many-lookups',
        mx.domain,
        `"${mx.term}" in the SPF record of ${mx.domain} points at ${mx.target}, which has ${mx.exchanges} MX ` +
          `records; RFC 7208 §4.6.4 allows ${SPF_LOOKUP_LIMIT} per "mx", so evaluating it is a permerror. ` +
          `List the senders with ip4:/ip6: instead.`,
        { term: mx.term, target: mx.target, exchanges: mx.exchanges, limit: SPF_LOOKUP_LIMIT },
      ),
    );
  }
  if (a.voidLookups.length > SPF_VOID_LIMIT) {
    const targets = a.voidLookups.map((v) => v.target);
    out.push(
      finding(
        'spf.void-lookups',
        domain,
        `${a.voidLookups.length} look-ups in the SPF policy of ${domain} find nothing (${targets.join(', ')}: ` +
          `NXDOMAIN or no record); RFC 7208 §4.6.4 lets receivers stop with permerror after ${SPF_VOID_LIMIT}. ` +
          `Remove the terms that point at names which no longer exist.`,
        { record, count: a.voidLookups.length, limit: SPF_VOID_LIMIT, voidLookups: a.voidLookups },
      ),
    );
  }
  const end = a.ending;
  if (end?.kind === 'all' && (end.qualifier === '+' || end.qualifier === '?')) {
    out.push(
      finding(
        'spf.permissive-all',
        domain,
        `The SPF policy of ${domain} ends in "${end.qualifier}all"${end.domain === domain ? '' : ` (from ${end.domain})`}: ` +
          `every host on the Internet gets "${QUALIFIER_WORD[end.qualifier]}", so SPF stops no forgery. ` +
          `End the record in "-all" (or "~all" while you check your senders).`,
        { record, qualifier: end.qualifier, from: end.domain },
      ),
    );
  } else if (end?.kind === 'default') {
    out.push(
      finding(
        'spf.permissive-all',
        domain,
        `The SPF policy of ${domain}${end.domain === domain ? '' : ` (through ${end.domain})`} has no "all" and no ` +
          `redirect, so a host it does not list gets the default "neutral" (RFC 7208 §4.7), the same as "?all": SPF ` +
          `stops no forgery. Add "-all" (or "~all") at the end.`,
        { record, qualifier: null, from: end.domain },
      ),
    );
  }
  for (const inc of a.passAllIncludes) {
    out.push(
      finding(
        'spf.permissive-all',
        inc.domain,
        `"${inc.term}" in the SPF record of ${inc.domain} includes a record that ends in "+all", so the include ` +
          `matches every sender and the whole Internet passes SPF for ${domain}. Remove the include or ask its owner ` +
          `to end the record in "-all" or "~all".`,
        { term: inc.term, from: inc.domain },
      ),
    );
  }
  return out;
}

function* descendants(node: SpfNode | null, parent = ''): Generator<{ node: SpfNode; parent: string }> {
  if (!node) return;
  if (node.via !== 'top') yield { node, parent };
  for (const c of node.children) yield* descendants(c, node.domain);
}
