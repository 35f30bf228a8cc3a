import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DnsResponse } from '../../dns/types.js';
import type { DnskeyData, QuestionValidation, RrsigData } from './dnssec.js';
import {
  canonicalWireName,
  chainBreak,
  chainFacts,
  dsDigest,
  dsMatchesKey,
  keyTag,
  serialBefore,
  signatureProblem,
} from './dnssec.js';

// RFC 4034 §5.4: the DNSKEY of dskey.example.com (RSA/SHA-1) and its DS (SHA-1); RFC 4509 §2.3 gives the SHA-256 one.
const RFC_KEY: DnskeyData = {
  flags: 256,
  algorithm: 5,
  key: Buffer.from(
    'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
    'base64',
  ),
};
// A CSK Knot 3.2 generated for a.test., with the tag and DS that `keymgr ds` printed for it.
const KNOT_KEY: DnskeyData = {
  flags: 257,
  algorithm: 13,
  key: Buffer.from(
    'Fwfqh5+G0WvNgPiu+2f8MFZbopJDi3yUPmNSzrJYvlGNT2rMwiHMK873/nSJ6pX3Nm+exE5e1+PQOFB05wBlcQ==',
    'base64',
  ),
};
const KNOT_DS256 = 'b5690d655a0593278cd1b6eebb733ff8afc5b82ac86ab4492ef491857001164d';
const KNOT_DS384 = '3a6af1d267fc300a9629c9ebbdf7bae1d1dbc892f55e8b347d863f05b2501d0da96fbf880b366111f92afe4b8a3fe30c';

describe('DNSSEC arithmetic', () => {
  it('computes key tags (RFC 4034 Appendix B)', () => {
    assert.equal(keyTag(RFC_KEY), 60485);
    assert.equal(keyTag(KNOT_KEY), 52111);
  });

  it('takes the RSA/MD5 key tag from the modulus (RFC 4034 Appendix B.1)', () => {
    assert.equal(keyTag({ flags: 256, algorithm: 1, key: Buffer.from([1, 2, 3, 0xab, 0xcd, 0xef]) }), 0xabcd);
  });

  it('writes names in canonical wire form (RFC 4034 §6.2)', () => {
    assert.deepEqual(canonicalWireName('A.Test'), Buffer.from([1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0]));
    assert.deepEqual(canonicalWireName(''), Buffer.from([0]));
  });

  it('computes DS digests: SHA-1 (RFC 4034 §5.4), SHA-256 (RFC 4509 §2.3), SHA-384', () => {
    assert.equal(
      dsDigest('dskey.example.com', RFC_KEY, 1)?.toString('hex').toUpperCase(),
      '2BB183AF5F22588179A53B0A98631FAD1A292118',
    );
    assert.equal(
      dsDigest('dskey.example.com', RFC_KEY, 2)?.toString('hex').toUpperCase(),
      'D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A',
    );
    assert.equal(dsDigest('a.test', KNOT_KEY, 2)?.toString('hex'), KNOT_DS256);
    assert.equal(dsDigest('a.test.', KNOT_KEY, 4)?.toString('hex'), KNOT_DS384);
    assert.equal(dsDigest('a.test', KNOT_KEY, 3), null, 'GOST is not implemented');
  });

  it('matches a DS to its key by tag, algorithm and digest', () => {
    const ds = { keyTag: 52111, algorithm: 13, digestType: 2, digest: Buffer.from(KNOT_DS256, 'hex') };
    assert.equal(dsMatchesKey('a.test', ds, KNOT_KEY), true);
    assert.equal(dsMatchesKey('b.test', ds, KNOT_KEY), false, 'the owner name is in the digest');
    assert.equal(dsMatchesKey('a.test', { ...ds, keyTag: 4711 }, KNOT_KEY), false);
    assert.equal(dsMatchesKey('a.test', { ...ds, algorithm: 8 }, KNOT_KEY), false);
  });

  it('compares RRSIG times in serial arithmetic (RFC 1982), across the 2106 wrap', () => {
    assert.equal(serialBefore(1, 2), true);
    assert.equal(serialBefore(2, 1), false);
    assert.equal(serialBefore(5, 5), false);
    assert.equal(serialBefore(0xffff_fff0, 0x10), true);
    assert.equal(serialBefore(0x10, 0xffff_fff0), false);
  });
});

const NOW = 1_800_000_000;
const sig = (over: Partial<RrsigData> = {}): RrsigData => ({
  typeCovered: 'MX',
  algorithm: 13,
  labels: 2,
  originalTTL: 300,
  expiration: NOW + 86_400,
  inception: NOW - 3600,
  keyTag: 52111,
  signersName: 'a.test',
  signature: Buffer.alloc(64),
  ...over,
});

describe('signatureProblem', () => {
  it('names missing, expired, premature and foreign signatures', () => {
    assert.equal(signatureProblem([], [52111], NOW), 'there is no RRSIG');
    assert.match(signatureProblem([sig({ expiration: NOW - 10 })], [52111], NOW)!, /expired/);
    assert.match(signatureProblem([sig({ inception: NOW + 3600 })], [52111], NOW)!, /no RRSIG is valid yet/);
    assert.match(signatureProblem([sig({ keyTag: 1 })], [52111], NOW)!, /key tag 1, which the zone does not publish/);
  });

  it('finds nothing visible when one signature is timely and by a published key', () => {
    assert.equal(signatureProblem([sig({ expiration: NOW - 10 }), sig()], [52111], NOW), null);
  });
});

const response = (answers: DnsResponse['answers']): DnsResponse => ({
  id: 1,
  rcode: 'NOERROR',
  flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: true },
  question: { name: 'a.test', type: 'DS' },
  answers,
  authority: [],
  additional: [],
  ednsUdpSize: 1232,
  size: 100,
});
const rr = (type: 'DS' | 'DNSKEY' | 'RRSIG', data: unknown) => ({
  name: 'a.test',
  type,
  class: 'IN' as const,
  ttl: 300,
  data,
});
const q = (type: 'DS' | 'DNSKEY', status: QuestionValidation['status'], answers: DnsResponse['answers']) => ({
  type,
  status,
  rcode: status === 'bogus' ? 'SERVFAIL' : 'NOERROR',
  error: null,
  response: response(answers),
});
const goodDs = rr('DS', { keyTag: 52111, algorithm: 13, digestType: 2, digest: Buffer.from(KNOT_DS256, 'hex') });
const staleDs = rr('DS', { keyTag: 4711, algorithm: 13, digestType: 2, digest: Buffer.alloc(32, 1) });
const dnskey = rr('DNSKEY', KNOT_KEY);

describe('chainFacts and chainBreak', () => {
  it('links a DS to the key it names; a sound chain shows no break', () => {
    const f = chainFacts('a.test', q('DS', 'secure', [goodDs]), q('DNSKEY', 'secure', [dnskey]));
    assert.equal(f.ds.present, true);
    assert.equal(f.ds.records[0]!.matchesKey, 52111);
    assert.deepEqual(f.dnskey.keys, [{ keyTag: 52111, flags: 257, algorithm: 13, sep: true, matchedByDs: true }]);
    assert.equal(chainBreak(f, NOW), null);
  });

  it('a DS no key matches: ds-mismatch, naming both tags', () => {
    const f = chainFacts('a.test', q('DS', 'secure', [staleDs]), q('DNSKEY', 'bogus', [dnskey]));
    const b = chainBreak(f, NOW);
    assert.equal(b?.at, 'ds-mismatch');
    assert.match(b.explanation, /DS 4711 .*its keys: 52111/);
  });

  it('a DS and no DNSKEY: ds-no-dnskey', () => {
    const f = chainFacts('a.test', q('DS', 'secure', [goodDs]), q('DNSKEY', 'bogus', []));
    assert.equal(f.dnskey.present, false);
    assert.equal(chainBreak(f, NOW)?.at, 'ds-no-dnskey');
  });

  it('a DS of an unknown digest type breaks nothing (RFC 4035 §5.2)', () => {
    const gost = rr('DS', { keyTag: 52111, algorithm: 13, digestType: 3, digest: Buffer.alloc(32) });
    const f = chainFacts('a.test', q('DS', 'secure', [gost]), q('DNSKEY', 'insecure', [dnskey]));
    assert.equal(f.ds.records[0]!.supported, false);
    assert.equal(chainBreak(f, NOW), null);
  });

  it('a parent whose DS answer is bogus: the break is above', () => {
    const f = chainFacts('a.test', q('DS', 'bogus', [goodDs]), q('DNSKEY', 'bogus', [dnskey]));
    assert.equal(chainBreak(f, NOW)?.at, 'parent');
  });

  it('a DNSKEY RRset signed by no key the DS names: dnskey-signature', () => {
    const f = chainFacts(
      'a.test',
      q('DS', 'secure', [goodDs]),
      q('DNSKEY', 'bogus', [dnskey, rr('RRSIG', sig({ typeCovered: 'DNSKEY', expiration: NOW - 60 }))]),
    );
    const b = chainBreak(f, NOW);
    assert.equal(b?.at, 'dnskey-signature');
    assert.match(b.explanation, /expired/);
  });

  it('no records and no reply: present is null, not false', () => {
    const none: QuestionValidation = { type: 'DS', status: 'error', rcode: 'SERVFAIL', error: 'x', response: null };
    const f = chainFacts('a.test', none, { ...none, type: 'DNSKEY' });
    assert.equal(f.ds.present, null);
    assert.equal(f.dnskey.present, null);
    assert.equal(chainBreak(f, NOW), null);
  });
});
