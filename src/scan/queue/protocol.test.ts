import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkErrorRecord } from '../check-record.js';
import { errorRecord } from '../record.js';
import {
  chunkJobId,
  isScanId,
  jobLockKey,
  parseChunkJob,
  parseResultBatch,
  PROTOCOL_VERSION,
  resultsKey,
  scanQueueName,
} from './protocol.js';

describe('scan queue protocol', () => {
  it('names the keys of a scan', () => {
    assert.equal(scanQueueName('0123abcd'), 'scan-0123abcd');
    assert.equal(resultsKey('0123abcd'), 'mxray:results:0123abcd');
    assert.equal(chunkJobId(7), 'chunk-7');
    assert.equal(jobLockKey('0123abcd', 'chunk-7'), 'mxray:scan-0123abcd:chunk-7:lock');
    assert.equal(isScanId('0123abcd'), true);
    assert.equal(isScanId('0123ABCD'), false);
    assert.equal(isScanId('abc'), false);
    assert.equal(isScanId('scan-0123abcd'), false);
  });

  it('accepts a well-formed chunk job and says what is wrong with a bad one', () => {
    const job = {
      v: PROTOCOL_VERSION,
      scan: '0123abcd',
      chunk: 2,
      task: { what: 'route' },
      items: [{ line: 5, input: 'A.test', domain: 'a.test' }],
    };
    assert.deepEqual(parseChunkJob(job), { kind: 'ok', job });
    const audit = { ...job, task: { what: 'check', smtp: false } };
    assert.deepEqual(parseChunkJob(audit), { kind: 'ok', job: audit });
    const cases: [unknown, RegExp][] = [
      [null, /not an object/],
      [{ ...job, v: 1 }, /protocol version 1; this worker speaks version 2/],
      [{ ...job, task: undefined }, /does not say what to do/],
      [{ ...job, task: { what: 'send' } }, /does not say what to do/],
      [{ ...job, task: { what: 'check' } }, /does not say what to do/],
      [{ ...job, scan: '../x' }, /no valid scan id/],
      [{ ...job, chunk: 0 }, /no valid chunk number/],
      [{ ...job, items: 'a.test' }, /no items/],
      [{ ...job, items: [{ line: 1, input: 'x', domain: '' }] }, /item 1 of chunk 2/],
      [{ ...job, items: [{ line: 1.5, input: 'x', domain: 'x' }] }, /item 1 of chunk 2/],
    ];
    for (const [data, why] of cases) {
      const r = parseChunkJob(data);
      assert.equal(r.kind, 'invalid', JSON.stringify(data));
      if (r.kind === 'invalid') assert.match(r.reason, why);
    }
  });

  it('reads result batches and rejects anything else', () => {
    const record = errorRecord({ line: 3, input: 'x..y' }, 'invalid');
    const text = JSON.stringify({ v: PROTOCOL_VERSION, chunk: 1, records: [record] });
    assert.deepEqual(parseResultBatch(text), { v: 2, chunk: 1, records: [record] });
    const audit = checkErrorRecord({ line: 4, input: 'x..y', domain: null }, 'invalid');
    const audits = JSON.stringify({ v: PROTOCOL_VERSION, chunk: 1, records: [audit] });
    assert.deepEqual(parseResultBatch(audits), { v: 2, chunk: 1, records: [audit] });
    for (const bad of [
      'not json',
      '42',
      JSON.stringify({ v: 1, chunk: 1, records: [record] }),
      JSON.stringify({ v: 2, chunk: '1', records: [record] }),
      JSON.stringify({ v: 2, chunk: 1, records: [{ ...record, line: 0 }] }),
      JSON.stringify({ v: 2, chunk: 1, records: [{ line: 3 }] }),
    ]) {
      assert.equal(parseResultBatch(bad), null, bad);
    }
  });
});
