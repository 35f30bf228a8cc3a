import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { labCertificate } from '../../lab/certificate.js';
import type { TlsaData } from './dane.js';
import { associationData, formatTlsa, matchTlsa, tlsaUnusable } from './dane.js';

interface Cert {
  derBase64: string;
  spkiBase64: string;
}

async function cert(host: string): Promise<Cert> {
  const pem = (await labCertificate([host])).cert;
  const x = new X509Certificate(pem);
  return {
    derBase64: x.raw.toString('base64'),
    spkiBase64: x.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

const hash = (alg: string, b64: string) => createHash(alg).update(Buffer.from(b64, 'base64')).digest();
const tlsa = (usage: number, selector: number, matchingType: number, certificate: Buffer): TlsaData => ({
  usage,
  selector,
  matchingType,
  certificate,
});

describe('DANE TLSA matching (RFC 6698 §2.1, RFC 7672 §3.1)', () => {
  let leaf: Cert;
  let other: Cert;
  before(async () => {
    [leaf, other] = await Promise.all([cert('mx.example.test'), cert('other.example.test')]);
  });

  it('computes the association data for each selector and matching type', () => {
    const der = Buffer.from(leaf.derBase64, 'base64');
    const spki = Buffer.from(leaf.spkiBase64, 'base64');
    assert.deepEqual(associationData(leaf, 0, 0), der);
    assert.deepEqual(associationData(leaf, 1, 0), spki);
    assert.deepEqual(associationData(leaf, 0, 1), hash('sha256', leaf.derBase64));
    assert.deepEqual(associationData(leaf, 1, 1), hash('sha256', leaf.spkiBase64));
    assert.deepEqual(associationData(leaf, 0, 2), hash('sha512', leaf.derBase64));
    assert.equal(associationData(leaf, 1, 2).length, 64);
  });

  it('DANE-EE(3) matches the leaf with every selector × matching type, and nothing else', () => {
    for (const selector of [0, 1] as const) {
      for (const matchingType of [0, 1, 2] as const) {
        const record = tlsa(3, selector, matchingType, associationData(leaf, selector, matchingType));
        assert.equal(matchTlsa(record, leaf), 'match', `3 ${selector} ${matchingType}`);
        assert.equal(matchTlsa(record, other), 'no-match', `3 ${selector} ${matchingType} against another key`);
      }
    }
  });

  it('DANE-TA(2) matching the leaf counts; not matching it cannot be checked without the chain', () => {
    assert.equal(matchTlsa(tlsa(2, 0, 1, associationData(leaf, 0, 1)), leaf), 'match');
    assert.equal(matchTlsa(tlsa(2, 0, 1, associationData(other, 0, 1)), leaf), 'unverifiable');
  });

  it('PKIX usages and unknown parameters are unusable (RFC 7672 §3.1.3, RFC 6698 §4.1)', () => {
    const data = associationData(leaf, 1, 1);
    assert.equal(matchTlsa(tlsa(0, 1, 1, data), leaf), 'unusable');
    assert.equal(matchTlsa(tlsa(1, 1, 1, data), leaf), 'unusable');
    assert.match(tlsaUnusable(tlsa(1, 1, 1, data))!, /PKIX/);
    assert.match(tlsaUnusable(tlsa(4, 1, 1, data))!, /usage 4/);
    assert.match(tlsaUnusable(tlsa(3, 2, 1, data))!, /selector 2/);
    assert.match(tlsaUnusable(tlsa(3, 1, 3, data))!, /matching type 3/);
    assert.equal(tlsaUnusable(tlsa(3, 1, 1, data)), null);
  });

  it('a wrong-length hash is simply no match', () => {
    assert.equal(matchTlsa(tlsa(3, 1, 1, Buffer.alloc(5)), leaf), 'no-match');
  });

  it('formats records as a zone file writes them', () => {
    assert.equal(formatTlsa(tlsa(3, 1, 1, Buffer.from([0xab, 0x01]))), '3 1 1 AB01');
  });
});
