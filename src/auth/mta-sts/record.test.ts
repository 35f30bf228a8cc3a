import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMtaStsRecord, parseMtaStsRecord } from './record.js';

describe('MTA-STS TXT record (RFC 8461 §3.1)', () => {
  it('selects records beginning with "v=STSv1;"', () => {
    assert.equal(isMtaStsRecord('v=STSv1; id=1'), true);
    assert.equal(isMtaStsRecord('v=STSv1;id=1'), true);
    assert.equal(isMtaStsRecord('v=stsv1; id=1'), false);
    assert.equal(isMtaStsRecord('v=STSv10; id=1'), false);
  });

  it('reads the id and extensions', () => {
    assert.deepEqual(parseMtaStsRecord('v=STSv1; id=20260101T120000; ext_1=a:b;'), {
      ok: true,
      record: {
        text: 'v=STSv1; id=20260101T120000; ext_1=a:b;',
        id: '20260101T120000',
        extensions: [{ name: 'ext_1', value: 'a:b' }],
      },
    });
  });

  it('rejects a missing, repeated or malformed id, and malformed fields', () => {
    const error = (t: string) => {
      const r = parseMtaStsRecord(t);
      return r.ok ? '' : r.error;
    };
    assert.match(error('v=STSv1;'), /id field is missing/);
    assert.match(error('v=STSv1; id=1; id=2'), /more than once/);
    assert.match(error('v=STSv1; id=2026-01-01'), /1 to 32 letters and digits/);
    assert.match(error(`v=STSv1; id=${'a'.repeat(33)}`), /1 to 32/);
    assert.match(error('v=STSv1; id=1; junk'), /not a name=value field/);
    assert.match(error('v=STSv1; id=1; x=a b'), /not a valid field/);
  });
});
