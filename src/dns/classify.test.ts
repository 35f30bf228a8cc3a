import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyResponse, negativeTtl } from './classify.js';
import type { DnsRecord, DnsResponse } from './types.js';

const rec = (name: string, type: DnsRecord['type'], data: unknown, ttl = 60): DnsRecord => ({
  name,
  type,
  class: 'IN',
  ttl,
  data,
});
const soa = rec('example.test', 'SOA', { mname: 'ns', rname: 'h', minimum: 120 }, 3600);
function response(over: Partial<DnsResponse>): DnsResponse {
  return {
    id: 1,
    rcode: 'NOERROR',
    flags: { qr: true, aa: true, tc: false, rd: true, ra: false, ad: false, cd: false },
    question: { name: 'example.test', type: 'MX' },
    answers: [],
    authority: [],
    additional: [],
    ednsUdpSize: null,
    size: 0,
    ...over,
  };
}

describe('classifyResponse', () => {
  it('NXDOMAIN at the end of a CNAME chain names the chain (RFC 1034 §3.6.2)', () => {
    const c = classifyResponse(
      response({ rcode: 'NXDOMAIN', answers: [rec('example.test', 'CNAME', 'gone.example.test')], authority: [soa] }),
      'example.test',
      'MX',
    );
    assert.equal(c.kind, 'nxdomain');
    assert.ok(c.kind === 'nxdomain');
    assert.equal(c.cnames[0]!.target, 'gone.example.test');
  });

  it('NODATA with SOA; a bare CNAME without SOA asks to follow', () => {
    assert.equal(classifyResponse(response({ authority: [soa] }), 'example.test', 'MX').kind, 'nodata');
    const f = classifyResponse(
      response({ answers: [rec('example.test', 'CNAME', 'other.test')] }),
      'example.test',
      'MX',
    );
    assert.deepEqual(f.kind === 'follow' && f.target, 'other.test');
  });

  it('a referral from a non-recursive server is not NODATA', () => {
    const c = classifyResponse(
      response({
        flags: { qr: true, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false },
        authority: [rec('test', 'NS', 'ns.test')],
      }),
      'example.test',
      'MX',
    );
    assert.equal(c.kind, 'referral');
  });

  it('ignores records for other names in the answer (they never become the answer)', () => {
    const c = classifyResponse(
      response({ answers: [rec('evil.test', 'MX', { preference: 1, exchange: 'x' })], authority: [soa] }),
      'example.test',
      'MX',
    );
    assert.equal(c.kind, 'nodata');
  });

  it('maps error rcodes', () => {
    for (const [rcode, kind] of [
      ['SERVFAIL', 'servfail'],
      ['REFUSED', 'refused'],
      ['FORMERR', 'formerr'],
      ['NOTIMP', 'notimp'],
      ['BADVERS', 'error'],
    ] as const) {
      assert.equal(classifyResponse(response({ rcode }), 'example.test', 'MX').kind, kind);
    }
  });

  it('negative TTL is min(SOA TTL, MINIMUM) (RFC 2308 §5)', () => {
    assert.equal(negativeTtl(soa), 120);
    assert.equal(negativeTtl(null), 0);
  });
});
