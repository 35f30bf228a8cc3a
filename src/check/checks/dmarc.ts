/**
 * @module check/checks/dmarc
 * The DMARC part of `mxray check` (RFC 7489): a record at `_dmarc.<domain>` or inherited from the
 * organizational domain (§6.6.3), exactly one, that parses (§6.3, §6.4), with a policy that does more than
 * report (`p=none` asks receivers to do nothing, §6.3). The data holds the tags and the policy in effect, and
 * for report addresses in other organizational domains whether they authorize the reports (§7.1: without
 * `<domain>._report._dmarc.<destination>`, receivers drop them; no finding id yet, so data only).
 */
import type { DestinationCheck, DmarcDiscovery } from '../../auth/dmarc/discover.js';
import { checkReportDestinations, discoverDmarc } from '../../auth/dmarc/discover.js';
import type { DmarcParse } from '../../auth/dmarc/record.js';
import { parseDmarcRecord } from '../../auth/dmarc/record.js';
import type { Check } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/**
 * The DMARC check module.
 * @example const { findings, data } = await checkDmarc(ctx); // data.tags.p, data.destinations, …
 */
export const checkDmarc: Check = async (ctx) => {
  const call = { resolver: ctx.resolver, signal: ctx.signal };
  const discovery = await discoverDmarc(ctx.domain, call);
  const parsed = discovery.kind === 'found' ? parseDmarcRecord(discovery.record) : null;
  let destinations: DestinationCheck[] = [];
  if (discovery.kind === 'found' && parsed?.ok) {
    const r = parsed.record;
    destinations = await checkReportDestinations(
      discovery.policyDomain,
      discovery.orgDomain,
      [...r.rua, ...r.ruf],
      call,
    );
  }
  return {
    findings: dmarcFindings(ctx.domain, discovery, parsed),
    data: dmarcData(discovery, parsed, destinations),
  };
};

function dmarcData(d: DmarcDiscovery, parsed: DmarcParse | null, destinations: DestinationCheck[]) {
  const base = { lookup: d.kind, orgDomain: d.orgDomain };
  switch (d.kind) {
    case 'none':
      return { ...base, asked: d.asked, record: null };
    case 'failed':
      return { ...base, name: d.name, error: d.error, record: null };
    case 'multiple':
      return { ...base, name: d.name, records: d.records, record: null };
    case 'found':
      break;
  }
  const common = { ...base, name: d.name, record: d.record, policyDomain: d.policyDomain, inherited: d.inherited };
  if (!parsed?.ok)
    return { ...common, errors: parsed?.errors ?? [], warnings: parsed?.warnings ?? [], tags: parsed?.tags ?? {} };
  const r = parsed.record;
  return {
    ...common,
    tags: {
      p: r.p,
      sp: r.sp,
      pct: r.pct,
      rua: r.rua.map((u) => u.uri),
      ruf: r.ruf.map((u) => u.uri),
      adkim: r.adkim,
      aspf: r.aspf,
    },
    // For the domain itself: its own p, or the organizational record's sp (falling back to p) when inherited.
    policy: d.inherited ? (r.sp ?? r.p) : r.p,
    warnings: parsed.warnings,
    destinations,
    unauthorizedDestinations: destinations.filter((x) => x.authorization === 'missing').map((x) => x.detail),
  };
}

/**
 * The findings for a discovery and its parse (pure).
 * @example dmarcFindings('example.com', { kind: 'none', asked: ['_dmarc.example.com'], orgDomain: 'example.com' }, null) // [dmarc.none]
 */
export function dmarcFindings(domain: string, d: DmarcDiscovery, parsed: DmarcParse | null): Finding[] {
  switch (d.kind) {
    case 'failed':
      return [];
    case 'none':
      return [
        finding(
          'dmarc.none',
          domain,
          `${domain} publishes no DMARC record (${d.asked.map((n) => `${n} TXT`).join(' and ')} have none), so ` +
            `receivers apply no policy to mail forged in its name and send you no reports. Publish ` +
            `_dmarc.${domain} TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}", read the reports, then ` +
            `raise p to quarantine and reject.`,
          { asked: d.asked, orgDomain: d.orgDomain },
        ),
      ];
    case 'multiple':
      return [
        finding(
          'dmarc.syntax',
          d.name,
          `${d.name} has ${d.records.length} DMARC records; RFC 7489 §6.6.3 then applies no policy at all. Keep ` +
            `one TXT record starting "v=DMARC1" and delete the others.`,
          { records: d.records },
        ),
      ];
    case 'found':
      break;
  }
  if (!parsed) return [];
  if (!parsed.ok) {
    return [
      finding(
        'dmarc.syntax',
        d.name,
        `The DMARC record at ${d.name} has errors: ${parsed.errors.join('; ')}. Receivers ignore a record without ` +
          `a valid p= (RFC 7489 §6.6.3) and drop bad tags. Rewrite it as e.g. "v=DMARC1; p=quarantine; ` +
          `rua=mailto:dmarc-reports@${d.policyDomain}".`,
        { record: d.record, errors: parsed.errors, warnings: parsed.warnings },
      ),
    ];
  }
  const r = parsed.record;
  const policy = d.inherited ? (r.sp ?? r.p) : r.p;
  if (policy !== 'none') return [];
  const where = d.inherited
    ? `${domain} inherits the record of ${d.policyDomain}, whose ${r.sp ? 'sp' : 'p'}=none`
    : `The DMARC policy of ${domain} is p=none`;
  return [
    finding(
      'dmarc.policy-none',
      d.name,
      `${where}: receivers deliver mail that fails DMARC as if there were no policy and only report it. Once the ` +
        `reports show all your own mail passing, move to p=quarantine and then p=reject.`,
      { record: d.record, p: r.p, sp: r.sp, inherited: d.inherited, rua: r.rua.map((u) => u.uri) },
    ),
  ];
}
