/**
 * @module check/findings
 * The findings of `mxray check`: stable ids (a public contract, documented in docs/findings.md), their
 * severity and the area they belong to. Severity is a promise: `error` — mail is or will be lost or refused;
 * `warning` — a real weakness to fix; `info` — advice.
 */

export type Severity = 'error' | 'warning' | 'info';

export type Area =
  'mx' | 'smtp' | 'spf' | 'dmarc' | 'mta-sts' | 'tls-rpt' | 'dnssec' | 'dane' | 'provider' | 'blocklist';

export interface FindingSpec {
  severity: Severity;
  area: Area;
  /** One line: what the finding means. */
  title: string;
}

/** Every finding id mxray reports. Ids never change meaning; new ones are only added. */
export const FINDINGS = {
  'mx.none': { severity: 'error', area: 'mx', title: 'The domain has no MX record and no address: no mail route.' },
  'mx.null-with-others': {
    severity: 'error',
    area: 'mx',
    title: 'A null MX stands beside other MX records (RFC 7505 §3).',
  },
  'mx.single': { severity: 'warning', area: 'mx', title: 'Only one MX host: no fallback when it is down.' },
  'mx.cname-target': { severity: 'warning', area: 'mx', title: 'An MX exchange is a CNAME (RFC 2181 §10.3).' },
  'mx.ip-literal': {
    severity: 'error',
    area: 'mx',
    title: 'An MX exchange is written as an IP address; senders do not use it.',
  },
  'mx.no-address': { severity: 'error', area: 'mx', title: 'An MX exchange has no A or AAAA record; senders skip it.' },
  'mx.duplicate': { severity: 'info', area: 'mx', title: 'An MX exchange is listed more than once.' },
  'mx.shared-address': {
    severity: 'warning',
    area: 'mx',
    title: 'Two MX exchanges share an address: no real redundancy.',
  },
  'mx.private-address': {
    severity: 'error',
    area: 'mx',
    title: 'An MX address is loopback, private, link-local or documentation space.',
  },
  'mx.nameservers-disagree': {
    severity: 'warning',
    area: 'mx',
    title: 'The authoritative nameservers give different MX sets or SOA serials.',
  },
  'mx.ttl-low': {
    severity: 'info',
    area: 'mx',
    title: 'The MX TTL is very low: more queries, less resilience when DNS fails.',
  },
  'mx.wildcard': { severity: 'warning', area: 'mx', title: 'A wildcard MX answers for names that do not exist.' },
  'mx.ptr-missing': { severity: 'warning', area: 'mx', title: 'An MX address has no PTR record.' },
  'mx.ptr-mismatch': {
    severity: 'warning',
    area: 'mx',
    title: 'An MX address’s PTR name does not resolve back to it (no FCrDNS).',
  },
  'smtp.unreachable': { severity: 'error', area: 'smtp', title: 'An MX address does not answer on port 25.' },
  'smtp.no-starttls': { severity: 'warning', area: 'smtp', title: 'An MX host does not offer STARTTLS.' },
  'smtp.tls-old': { severity: 'warning', area: 'smtp', title: 'An MX host negotiates TLS below 1.2.' },
  'smtp.cert-expired': { severity: 'error', area: 'smtp', title: 'An MX host’s certificate has expired.' },
  'smtp.cert-expiring': {
    severity: 'warning',
    area: 'smtp',
    title: 'An MX host’s certificate expires within 14 days.',
  },
  'smtp.cert-name-mismatch': {
    severity: 'warning',
    area: 'smtp',
    title: 'An MX host’s certificate does not name the host.',
  },
  'smtp.cert-untrusted': {
    severity: 'warning',
    area: 'smtp',
    title: 'An MX host’s certificate is not trusted by the CA store.',
  },
  'smtp.banner-mismatch': { severity: 'info', area: 'smtp', title: 'An MX host’s greeting does not name the host.' },
  'smtp.open-relay': {
    severity: 'error',
    area: 'smtp',
    title: 'An MX host accepts mail for outside domains (open relay).',
  },
  'spf.none': { severity: 'warning', area: 'spf', title: 'The domain publishes no SPF record.' },
  'spf.multiple': {
    severity: 'error',
    area: 'spf',
    title: 'More than one SPF record: SPF evaluation fails (permerror).',
  },
  'spf.syntax': { severity: 'error', area: 'spf', title: 'The SPF record does not parse (permerror).' },
  'spf.too-many-lookups': {
    severity: 'error',
    area: 'spf',
    title: 'SPF needs more than 10 DNS lookups (RFC 7208 §4.6.4).',
  },
  'spf.void-lookups': {
    severity: 'warning',
    area: 'spf',
    title: 'SPF has more than 2 void lookups (RFC 7208 §4.6.4).',
  },
  'spf.permissive-all': {
    severity: 'warning',
    area: 'spf',
    title: 'SPF ends in +all or ?all: anyone may send as the domain.',
  },
  'dmarc.none': { severity: 'warning', area: 'dmarc', title: 'The domain publishes no DMARC record.' },
  'dmarc.policy-none': {
    severity: 'info',
    area: 'dmarc',
    title: 'DMARC policy is p=none: failures are only reported.',
  },
  'dmarc.syntax': { severity: 'error', area: 'dmarc', title: 'The DMARC record does not parse.' },
  'mta-sts.none': {
    severity: 'info',
    area: 'mta-sts',
    title: 'No MTA-STS policy: TLS to the MX hosts is only opportunistic.',
  },
  'mta-sts.policy-unreachable': {
    severity: 'warning',
    area: 'mta-sts',
    title: 'An MTA-STS TXT record exists but the policy cannot be fetched.',
  },
  'mta-sts.mx-not-covered': {
    severity: 'error',
    area: 'mta-sts',
    title: 'An MX host is not covered by the MTA-STS policy.',
  },
  'tls-rpt.none': { severity: 'info', area: 'tls-rpt', title: 'No TLS-RPT record: you will not hear of TLS failures.' },
  'dnssec.unsigned': { severity: 'info', area: 'dnssec', title: 'The zone is not signed with DNSSEC.' },
  'dnssec.bogus': {
    severity: 'error',
    area: 'dnssec',
    title: 'DNSSEC validation fails: validating resolvers return SERVFAIL.',
  },
  'dane.tlsa-mismatch': {
    severity: 'error',
    area: 'dane',
    title: 'No TLSA record matches the certificate the MX host presents.',
  },
  'provider.deviation': {
    severity: 'warning',
    area: 'provider',
    title: 'The MX set differs from the hosted-mail provider’s documented records.',
  },
  'blocklist.listed': { severity: 'warning', area: 'blocklist', title: 'An MX address is listed on a DNS blocklist.' },
} as const satisfies Record<string, FindingSpec>;

export type FindingId = keyof typeof FINDINGS;

/** One finding about one subject (a record, host or address). */
export interface Finding {
  id: FindingId;
  severity: Severity;
  area: Area;
  /** What it is about: a record, host, address or domain. */
  subject: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** The data that shows it. */
  evidence: Record<string, unknown>;
}

/** Builds a finding with the registered severity and area. */
export function finding(
  id: FindingId,
  subject: string,
  message: string,
  evidence: Record<string, unknown> = {},
): Finding {
  const spec: FindingSpec = FINDINGS[id];
  return { id, severity: spec.severity, area: spec.area, subject, message, evidence };
}

const RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

/** True when `s` is at or above `threshold`. */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return RANK[s] >= RANK[threshold];
}
