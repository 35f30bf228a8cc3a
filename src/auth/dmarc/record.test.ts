import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDmarcRecord, parseDmarcRecord, parseDmarcUri } from './record.js';

const errorsOf = (text: string) => {
  const r = parseDmarcRecord(text);
  return r.ok ? [] : r.errors;
};

describe('DMARC record selection (RFC 7489 §6.6.3)', () => {
  it('takes records starting with v=DMARC1 (any case, so a wrong case is reported, not hidden)', () => {
    assert.equal(isDmarcRecord('v=DMARC1; p=none'), true);
    assert.equal(isDmarcRecord('v = DMARC1 ;p=none'), true);
    assert.equal(isDmarcRecord('v=DMARC1'), true);
    assert.equal(isDmarcRecord('v=dmarc1; p=none'), true);
    assert.equal(isDmarcRecord('p=none; v=DMARC1'), false);
    assert.equal(isDmarcRecord('v=DMARC10; p=none'), false);
    assert.equal(isDmarcRecord('v=spf1 -all'), false);
  });
});

describe('DMARC record grammar and tags (RFC 7489 §6.3, §6.4)', () => {
  it('parses the tags and applies the defaults', () => {
    const r = parseDmarcRecord('v=DMARC1; p=Reject ; rua=mailto:d@example.com!10m, mailto:x@reports.example.net;');
    assert.ok(r.ok);
    assert.equal(r.record.p, 'reject');
    assert.equal(r.record.sp, null);
    assert.equal(r.record.pct, 100);
    assert.equal(r.record.adkim, 'r');
    assert.equal(r.record.aspf, 'r');
    assert.equal(r.record.ri, 86400);
    assert.deepEqual(
      r.record.rua.map((u) => [u.uri, u.domain, u.maxSize]),
      [
        ['mailto:d@example.com', 'example.com', '10m'],
        ['mailto:x@reports.example.net', 'reports.example.net', null],
      ],
    );
    assert.deepEqual(r.warnings, []);
  });

  it('reads every tag', () => {
    const r = parseDmarcRecord(
      'v=DMARC1;p=quarantine;sp=none;pct=25;adkim=s;aspf=s;fo=1:d;rf=afrf;ri=3600;ruf=mailto:f@example.com',
    );
    assert.ok(r.ok);
    assert.deepEqual(
      [r.record.p, r.record.sp, r.record.pct, r.record.adkim, r.record.aspf, r.record.fo, r.record.ri],
      ['quarantine', 'none', 25, 's', 's', '1:d', 3600],
    );
    assert.equal(r.record.ruf[0]?.address, 'f@example.com');
  });

  it('reports what makes receivers ignore the record or a tag', () => {
    assert.match(errorsOf('v=DMARC1; rua=mailto:d@example.com').join(), /"p" is missing/);
    assert.match(errorsOf('v=DMARC1; p=block').join(), /p=block is not a policy/);
    assert.match(errorsOf('v=DMARC1; p=none; sp=maybe').join(), /sp=maybe/);
    assert.match(errorsOf('v=DMARC1; p=none; pct=150').join(), /pct=150/);
    assert.match(errorsOf('v=DMARC1; p=none; pct=-5').join(), /pct=-5/);
    assert.match(errorsOf('v=DMARC1; p=none; adkim=strict').join(), /adkim=strict/);
    assert.match(errorsOf('v=DMARC1; p=none; rua=d@example.com').join(), /not a URI/);
    assert.match(errorsOf('v=DMARC1; p=none; fo=2').join(), /fo=2/);
    assert.match(errorsOf('v=DMARC1; p=none; ri=daily').join(), /ri=daily/);
    assert.match(errorsOf('v=DMARC1; p=none; p=reject').join(), /more than once/);
    assert.match(errorsOf('v=dmarc1; p=none').join(), /exactly "v=DMARC1"/);
    assert.match(errorsOf('v=DMARC1; p=none;; pct=5').join(), /empty tag/);
    assert.match(errorsOf('v=DMARC1; p=none; constructor=x; bogus').join(), /"bogus" is not a tag=value pair/);
  });

  it('warns about unknown tags and non-mailto URIs without rejecting the record', () => {
    const r = parseDmarcRecord('v=DMARC1; p=none; rue=mailto:d@example.com; rua=https://r.example.com/');
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, [
      'unknown tag "rue" is ignored by receivers (RFC 7489 §6.3)',
      'rua: receivers need only support mailto: URIs (RFC 7489 §6.2), not https:',
    ]);
  });
});

describe('DMARC URIs (RFC 7489 §6.2)', () => {
  it('reads the address and the size limit', () => {
    assert.deepEqual(parseDmarcUri('mailto:Reports@Example.COM.!50k'), {
      uri: 'mailto:Reports@Example.COM.',
      scheme: 'mailto',
      address: 'Reports@Example.COM.',
      domain: 'example.com',
      maxSize: '50k',
    });
    const error = parseDmarcUri('mailto:nobody');
    assert.equal(typeof error, 'string');
    assert.match(error as string, /does not name a mail address/);
  });
});
