/**
 * @module smtp/certificate
 * What a user needs to know about a server's certificate: who it names, who signed it, when it expires,
 * whether Node's CA store trusts it, and whether it matches the MX host name (RFC 6125 via Node's
 * `checkServerIdentity`; for MX hosts, RFC 7672 §3.2.3 / RFC 8461 §4.1 match the MX name, not the domain).
 */
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity } from 'node:tls';

export interface CertificateInfo {
  subject: string;
  /** DNS names in subjectAltName. */
  altNames: string[];
  issuer: string;
  validFrom: string;
  validTo: string;
  /** Whole days from `now` to expiry (negative when expired). */
  daysLeft: number;
  selfSigned: boolean;
  trusted: boolean;
  /** Why the chain is not trusted, or null. */
  trustError: string | null;
  /** Whether the certificate names `host`; null when no host name was known (an address was probed). */
  nameMatches: boolean | null;
  fingerprint256: string;
  /** The certificate (DER, base64), for DANE matching (RFC 6698 §2.1.2 selector 0). */
  derBase64: string;
  /** Its SubjectPublicKeyInfo (DER, base64), for DANE selector 1. */
  spkiBase64: string;
}

function dn(part: Record<string, string | string[] | undefined> | undefined): string {
  if (!part) return '';
  return Object.entries(part)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : (v ?? '')}`)
    .join(', ');
}

/** Summarizes a peer certificate. */
export function describeCertificate(
  cert: PeerCertificate,
  trust: { authorized: boolean; authorizationError: string | null },
  host: string | null,
  now: number,
): CertificateInfo {
  const detailed = cert as DetailedPeerCertificate;
  const altNames = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  const validTo = new Date(cert.valid_to);
  const selfSigned =
    detailed.issuerCertificate === undefined ||
    detailed.issuerCertificate === detailed ||
    detailed.issuerCertificate.fingerprint256 === cert.fingerprint256;
  return {
    subject: dn(cert.subject),
    altNames,
    issuer: dn(cert.issuer),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - now) / 86_400_000),
    selfSigned,
    trusted: trust.authorized,
    trustError: trust.authorizationError,
    nameMatches: host === null ? null : checkServerIdentity(host, cert) === undefined,
    fingerprint256: cert.fingerprint256,
    derBase64: cert.raw.toString('base64'),
    spkiBase64: new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
