/**
 * @module check/checks/dane
 * DANE for SMTP (RFC 7672): for each MX host whose address records are DNSSEC-secure (§2.2), the TLSA RRset at
 * `_25._tcp.<exchange>` (RFC 6698 §3), matched against the certificate each probe of that host saw: usage
 * DANE-EE(3) against the leaf (RFC 7672 §3.1.1), DANE-TA(2) only where it happens to match the leaf (§3.1.2;
 * we do not keep the chain), PKIX-TA(0)/PKIX-EE(1) unusable for SMTP (§3.1.3); selector 0 full certificate or
 * 1 SubjectPublicKeyInfo, matching type 0 exact, 1 SHA-256, 2 SHA-512 (RFC 6698 §2.1.2–2.1.3). Records with
 * other parameters are unusable and ignored (RFC 7671 §4.1, RFC 6698 §4.1).
 */
import { createHash } from 'node:crypto';
import type { RecordType } from 'dns-packet';
import type { CallOptions } from '../../dns/resolver.js';
import type { CertificateInfo } from '../../smtp/certificate.js';
import type { ProbeResult } from '../../smtp/probe.js';
import type { Check } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';
import type { ValidationStatus } from './dnssec.js';
import { dnssecResolvers, validateQuestion } from './dnssec.js';

/** TLSA RDATA as dns-packet decodes it. */
export interface TlsaData {
  usage: number;
  selector: number;
  matchingType: number;
  certificate: Buffer;
}

/** One TLSA record as reported. */
export interface TlsaView {
  usage: number;
  selector: number;
  matchingType: number;
  /** Certificate association data, hex. */
  data: string;
  /** `3 1 1 ABCD…` as in a zone file. */
  text: string;
  usable: boolean;
  /** Why the record is unusable, else null. */
  unusable: string | null;
}

/** How one TLSA record compares with a certificate. */
export type TlsaMatch = 'match' | 'no-match' | 'unverifiable' | 'unusable';

const HASHES: Record<number, string | null> = { 0: null, 1: 'sha256', 2: 'sha512' };

/**
 * Why a TLSA record cannot be used for SMTP, or null when it can.
 * @example tlsaUnusable({ usage: 1, selector: 0, matchingType: 1 }) // 'usage 1 (PKIX) is not used for SMTP (RFC 7672 §3.1.3)'
 */
export function tlsaUnusable(t: Pick<TlsaData, 'usage' | 'selector' | 'matchingType'>): string | null {
  if (t.usage === 0 || t.usage === 1) return `usage ${t.usage} (PKIX) is not used for SMTP (RFC 7672 §3.1.3)`;
  if (t.usage !== 2 && t.usage !== 3) return `unknown usage ${t.usage}`;
  if (t.selector !== 0 && t.selector !== 1) return `unknown selector ${t.selector}`;
  if (!(t.matchingType in HASHES)) return `unknown matching type ${t.matchingType}`;
  return null;
}

/**
 * The association data a certificate gives for a selector and matching type.
 * @example associationData(cert, 1, 1).toString('hex') // what a `3 1 1` record for this key must carry
 */
export function associationData(
  cert: Pick<CertificateInfo, 'derBase64' | 'spkiBase64'>,
  selector: 0 | 1,
  matchingType: 0 | 1 | 2,
): Buffer {
  const selected = Buffer.from(selector === 0 ? cert.derBase64 : cert.spkiBase64, 'base64');
  const hash = HASHES[matchingType];
  return hash ? createHash(hash).update(selected).digest() : selected;
}

/**
 * Compares one TLSA record with the leaf certificate a server presented. DANE-TA(2) names a certificate
 * somewhere in the chain; the probe keeps only the leaf, so a DANE-TA record that does not match the leaf is
 * `unverifiable` here, not a mismatch.
 * @example matchTlsa({ usage: 3, selector: 1, matchingType: 1, certificate: hash }, cert) // 'match'
 */
export function matchTlsa(t: TlsaData, cert: Pick<CertificateInfo, 'derBase64' | 'spkiBase64'>): TlsaMatch {
  if (tlsaUnusable(t)) return 'unusable';
  const data = associationData(cert, t.selector as 0 | 1, t.matchingType as 0 | 1 | 2);
  if (data.equals(t.certificate)) return 'match';
  return t.usage === 2 ? 'unverifiable' : 'no-match';
}

/**
 * Formats TLSA RDATA the way a zone file writes it.
 * @example formatTlsa({ usage: 3, selector: 1, matchingType: 1, certificate }) // '3 1 1 AB01…'
 */
export function formatTlsa(t: TlsaData): string {
  return `${t.usage} ${t.selector} ${t.matchingType} ${t.certificate.toString('hex').toUpperCase()}`;
}

/** One probe of the exchange against its TLSA records. */
export interface DaneProbeReport {
  address: string;
  port: number;
  /** true: a usable record matches; false: none can; null: could not tell (no certificate, only DANE-TA). */
  matched: boolean | null;
  /** The records that matched, as text. */
  matchedRecords: string[];
  /** Why `matched` is null, else null. */
  note: string | null;
  /** The DANE-EE record that would match this server's key now (`3 1 1 <SHA-256 of its SPKI>`). */
  suggested: string | null;
}

/** The `dane` data for one exchange. */
export interface DaneExchangeReport {
  exchange: string;
  /** Its address records validated (AD): only then does TLSA count (RFC 7672 §2.2). */
  secure: boolean;
  addressStatus: Array<{ type: RecordType; status: ValidationStatus }>;
  tlsaName: string;
  /** Status of the TLSA answer; null when not looked up. */
  tlsaStatus: ValidationStatus | null;
  tlsa: TlsaView[];
  probes: DaneProbeReport[];
  /** Every probe with a certificate matched (true), one did not (false), or nothing to compare (null). */
  matched: boolean | null;
  note: string | null;
}

const probesOf = (probes: readonly ProbeResult[], exchange: string, addresses: readonly string[]) =>
  probes.filter((p) => (p.host !== null ? p.host.toLowerCase() === exchange : addresses.includes(p.address)));

function compareProbe(p: ProbeResult, records: readonly TlsaData[]): DaneProbeReport {
  const cert = p.tls?.certificate ?? null;
  const base = { address: p.address, port: p.port };
  if (!cert) {
    // With usable TLSA records a DANE sender requires STARTTLS (RFC 7672 §2.2): no TLS here means no delivery.
    const note = !p.connected
      ? 'the probe did not connect'
      : !p.starttlsOffered
        ? 'the host did not offer STARTTLS, which DANE senders require'
        : `TLS did not complete (${p.error ?? 'no certificate'})`;
    return { ...base, matched: null, matchedRecords: [], note, suggested: null };
  }
  const results = records.map((t) => ({ t, m: matchTlsa(t, cert) }));
  const hits = results.filter((r) => r.m === 'match').map((r) => formatTlsa(r.t));
  const suggested = `3 1 1 ${associationData(cert, 1, 1).toString('hex').toUpperCase()}`;
  if (hits.length > 0) return { ...base, matched: true, matchedRecords: hits, note: null, suggested };
  if (results.some((r) => r.m === 'unverifiable')) {
    return {
      ...base,
      matched: null,
      matchedRecords: [],
      note: 'only DANE-TA(2) records could match, and they name a certificate above the leaf, which the probe does not keep',
      suggested,
    };
  }
  return { ...base, matched: false, matchedRecords: [], note: null, suggested };
}

/**
 * `check` module: DANE TLSA records of each MX host against the certificates the SMTP probes saw.
 * @example
 * const out = await checkDane(ctx);
 * out.data.exchanges // [{ exchange: 'mx.example.com', secure: true, tlsa: [...], matched: true }]
 */
export const checkDane: Check = async (ctx) => {
  const r = dnssecResolvers(ctx.resolver);
  const call: CallOptions = { signal: ctx.signal };
  const hosts = [...new Map(ctx.route.hosts.map((h) => [h.exchange, h])).values()];
  const findings: Finding[] = [];

  const exchanges: DaneExchangeReport[] = await Promise.all(
    hosts.map(async (h): Promise<DaneExchangeReport> => {
      const types: RecordType[] = [];
      if (h.ipv4.length > 0) types.push('A');
      if (h.ipv6.length > 0) types.push('AAAA');
      const address = await Promise.all(
        (types.length > 0 ? types : (['A'] as RecordType[])).map((type) =>
          validateQuestion(r, { name: h.exchange, type }, call),
        ),
      );
      const tlsaName = `_25._tcp.${h.exchange}`;
      const report: DaneExchangeReport = {
        exchange: h.exchange,
        secure: address.every((a) => a.status === 'secure'),
        addressStatus: address.map((a) => ({ type: a.type, status: a.status })),
        tlsaName,
        tlsaStatus: null,
        tlsa: [],
        probes: [],
        matched: null,
        note: null,
      };
      if (!report.secure) {
        // An attacker who can forge an insecure address can forge the "no TLSA" too: such TLSA is ignored.
        report.note = `the address records of ${h.exchange} are not DNSSEC-secure, so TLSA records are ignored (RFC 7672 §2.2)`;
        return report;
      }
      const tlsa = await validateQuestion(r, { name: tlsaName, type: 'TLSA' }, call);
      report.tlsaStatus = tlsa.status;
      const records = (tlsa.response?.answers ?? [])
        .filter((a) => a.type === 'TLSA' && a.name === tlsaName)
        .map((a) => a.data as TlsaData);
      report.tlsa = records.map((t) => {
        const unusable = tlsaUnusable(t);
        return {
          usage: t.usage,
          selector: t.selector,
          matchingType: t.matchingType,
          data: t.certificate.toString('hex').toUpperCase(),
          text: formatTlsa(t),
          usable: unusable === null,
          unusable,
        };
      });
      switch (tlsa.status) {
        case 'bogus':
          // RFC 7672 §2.1.1: a TLSA lookup that fails validation makes the host unusable for a DANE sender.
          findings.push(
            finding(
              'dnssec.bogus',
              tlsaName,
              `The TLSA records of ${h.exchange} (${tlsaName}) fail DNSSEC validation: validating resolvers return SERVFAIL, and DANE senders treat the host as unusable and defer mail to it. Re-sign the zone (or fix its DS at the parent).`,
              { name: tlsaName, types: ['TLSA'], exchange: h.exchange },
            ),
          );
          report.note = 'the TLSA answer does not validate';
          return report;
        case 'error':
          report.note = `the TLSA lookup failed: ${tlsa.error ?? 'no answer'}`;
          return report;
        case 'insecure':
          report.note = 'the TLSA answer is not DNSSEC-secure, so it is ignored (RFC 7672 §2.2)';
          return report;
        case 'secure':
          break;
      }
      if (records.length === 0) {
        report.note = 'no TLSA records: the host does not use DANE';
        return report;
      }
      const usable = records.filter((t) => tlsaUnusable(t) === null);
      if (usable.length === 0) {
        report.note = 'no usable TLSA record (RFC 7672 §3.1): senders fall back to unauthenticated TLS';
        return report;
      }
      report.probes = probesOf(ctx.probes, h.exchange, h.addresses).map((p) => compareProbe(p, usable));
      if (report.probes.length === 0) report.note = 'the host was not probed (SMTP probing is off or found no address)';
      const verdicts = report.probes.map((p) => p.matched);
      report.matched = verdicts.includes(false) ? false : verdicts.includes(true) ? true : null;
      if (report.matched === null) report.note ??= report.probes.find((p) => p.note)?.note ?? null;
      const failed = report.probes.filter((p) => p.matched === false);
      if (failed.length > 0) {
        const list = usable.map(formatTlsa).join('; ');
        const suggested = [...new Set(failed.map((p) => p.suggested).filter((s): s is string => s !== null))];
        findings.push(
          finding(
            'dane.tlsa-mismatch',
            h.exchange,
            `No TLSA record at ${tlsaName} matches the certificate ${h.exchange} presents on ${failed.map((p) => p.address).join(', ')} (records: ${list}). DANE senders will not deliver to this host. Publish a TLSA record for the key the server now uses (${suggested.join(' or ')} for DANE-EE with its public key), wait for the old TLSA TTL, and next time roll over by publishing the new TLSA beside the old one before the server switches keys.`,
            {
              exchange: h.exchange,
              tlsa: usable.map(formatTlsa),
              addresses: failed.map((p) => p.address),
              suggested,
            },
          ),
        );
      }
      return report;
    }),
  );

  return { findings, data: { exchanges } };
};
