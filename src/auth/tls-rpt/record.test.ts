import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTlsRptRecord, parseTlsRptRecord } from './record.js';

describe('TLS-RPT record (RFC 8460 §3)', () => {
  it('selects records beginning with "v=TLSRPTv1"', () => {
    assert.equal(isTlsRptRecord('v=TLSRPTv1; rua=mailto:a@example.com'), true);
    assert.equal(isTlsRptRecord('v=TLSRPTv1;rua=mailto:a@example.com'), true);
    assert.equal(isTlsRptRecord('v=tlsrptv1; rua=mailto:a@example.com'), false);
    assert.equal(isTlsRptRecord('v=TLSRPTv10; rua=mailto:a@example.com'), false);
  });

  it('reads mailto: and https: destinations', () => {
    const r = parseTlsRptRecord('v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.net/v1/tlsrpt;');
    assert.ok(r.ok);
    assert.deepEqual(r.record.rua, [
      { uri: 'mailto:tls@example.com', scheme: 'mailto', target: 'tls@example.com' },
      { uri: 'https://reports.example.net/v1/tlsrpt', scheme: 'https', target: 'reports.example.net' },
    ]);
  });

  it('rejects a missing rua, other schemes and malformed fields', () => {
    const error = (t: string) => {
      const r = parseTlsRptRecord(t);
      return r.ok ? '' : r.error;
    };
    assert.match(error('v=TLSRPTv1'), /rua field is missing/);
    assert.match(error('v=TLSRPTv1; rua=http://reports.example.net/'), /neither mailto: nor https:/);
    assert.match(error('v=TLSRPTv1; rua=tls@example.com'), /not a URI/);
    assert.match(error('v=TLSRPTv1; rua=mailto:nobody'), /does not name a mail address/);
    assert.match(error('v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com'), /more than once/);
    assert.match(error('v=TLSRPTv1; rua=mailto:a@example.com; junk'), /not a name=value field/);
  });
});
