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
      [{ ...job, items: [{ line: 1, input: 'x', domain: '   ' }] }, /item 1 of chunk 2/],
      [{ ...job, items: [{ line: 1, input: 'x', domain: '#comment.test' }] }, /item 1 of chunk 2/],
      [{ ...job, items: [{ line: 1.5, input: 'x', domain: 'x' }] }, /item 1 of chunk 2/],
    ];
    for (const [data, why] of cases) {
      const r = parseChunkJob(data);
      assert.equal(r.kind, 'invalid', JSON.stringify(data));
      if (r.kind === 'invalid') assert.match(r.reason, why);
    }
  });

  it("reads result batches of the scan's kind of record and rejects anything else", () => {
    const ROUTE = { what: 'route' } as const;
    const AUDIT = { what: 'check', smtp: true } as const;
    const invalid = errorRecord({ line: 3, input: 'x..y' }, 'invalid');
    const host = {
      exchange: 'mx.a.test',
      preference: 10,
      addresses: ['192.0.2.1'],
      ipv4: ['192.0.2.1'],
      ipv6: [],
      canonical: null,
      error: null,
    };
    const route = {
      ...invalid,
      domain: 'a.test',
      outcome: 'deliverable',
      hosts: [host],
      ttl: 300,
      line: 4,
      error: null,
    };
    const batch = (records: unknown[], v = PROTOCOL_VERSION, chunk: unknown = 1) =>
      JSON.stringify({ v, chunk, records });
    assert.deepEqual(parseResultBatch(batch([invalid, route]), ROUTE), { v: 2, chunk: 1, records: [invalid, route] });

    const unchecked = checkErrorRecord({ line: 4, input: 'x..y', domain: null }, 'invalid');
    const audit = {
      ...unchecked,
      domain: 'a.test',
      route: { ...route, domain: 'a.test' },
      findings: [{ id: 'dnssec.unsigned', severity: 'info', title: 'x' }],
      summary: { error: 0, warning: 0, info: 1 },
      checkedAt: '2026-12-05T00:00:00.000Z',
      line: 5,
      error: null,
    };
    assert.deepEqual(parseResultBatch(batch([unchecked, audit]), AUDIT), {
      v: 2,
      chunk: 1,
      records: [unchecked, audit],
    });

    const bad: [string, typeof ROUTE | typeof AUDIT][] = [
      ['not json', ROUTE],
      ['42', ROUTE],
      [batch([invalid], 1), ROUTE],
      [batch([invalid], PROTOCOL_VERSION, '1'), ROUTE],
      [batch([{ ...invalid, line: 0 }]), ROUTE],
      [batch([{ line: 3 }]), ROUTE],
      // A record of the other kind: an audit's batch in a route scan, a route's in an audit.
      [batch([audit]), ROUTE],
      [batch([route]), AUDIT],
      // Fields the writers and the summary read, of the wrong type.
      [batch([{ ...route, outcome: 'lost' }]), ROUTE],
      [batch([{ ...route, hosts: [{ ...host, exchange: 7 }] }]), ROUTE],
      [batch([{ ...route, warnings: 'none' }]), ROUTE],
      [batch([{ ...audit, findings: 'many' }]), AUDIT],
      [batch([{ ...audit, findings: [{ id: 'x', severity: 'fatal' }] }]), AUDIT],
      [batch([{ ...audit, summary: { error: 0 } }]), AUDIT],
      [batch([{ ...audit, route: { outcome: 'deliverable' } }]), AUDIT],
    ];
    for (const [text, task] of bad) assert.equal(parseResultBatch(text, task), null, `${task.what}: ${text}`);
  });
});
