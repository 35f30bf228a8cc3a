/**
 * @module lab/certificate
 * Certificates for the lab's receivers, generated at start (smtp-server's built-in certificate has a
 * published key and expired in 2025). One certificate names every exchange it serves (subjectAltName,
 * RFC 6125); optionally signed by a test CA so trust checks can pass through NODE_EXTRA_CA_CERTS.
 */
import { generate } from 'selfsigned';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface CertificateOptions {
  /** Validity in days from now (negative makes an expired certificate). Default 90. */
  days?: number;
  /** A CA to sign with instead of self-signing. */
  ca?: KeyPair;
}

/** Generates a P-256 certificate for `hosts` (the first is the subject CN). */
export async function labCertificate(hosts: readonly string[], options: CertificateOptions = {}): Promise<KeyPair> {
  const days = options.days ?? 90;
  const now = Date.now();
  const notBefore = new Date(Math.min(now, now + days * 86_400_000) - 3_600_000);
  const notAfter = new Date(now + days * 86_400_000);
  const names = hosts.length > 0 ? hosts : ['lab.invalid'];
  const pems = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
    ...(options.ca ? { ca: { key: options.ca.key, cert: options.ca.cert } } : {}),
  });
  return { key: pems.private, cert: pems.cert };
}

/** A certificate authority for test worlds: sign lab certificates with it and trust it with `ca` options. */
export async function labCa(name = 'mxray lab CA'): Promise<KeyPair> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 86_400_000),
    notAfterDate: new Date(now + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
