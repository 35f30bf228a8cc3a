import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../memory-resolver.js';
import { memoryResolver } from '../memory-resolver.js';
import { checkReportDestinations, discoverDmarc, organizationalDomain } from './discover.js';
import { parseDmarcRecord } from './record.js';

const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));

const resolver = memoryResolver({
  '_dmarc.example.co.uk': txt('v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@reports.example.net', 'unrelated'),
  '_dmarc.two.example.com': txt('v=DMARC1; p=none', 'v=DMARC1; p=reject'),
  '_dmarc.slow.example.org': ['timeout'],
  'example.co.uk._report._dmarc.reports.example.net': txt('v=DMARC1'),
});

describe('DMARC policy discovery (RFC 7489 §6.6.3)', () => {
  it('finds the organizational domain with the Public Suffix List (§3.2)', async () => {
    assert.equal(await organizationalDomain('mail.example.co.uk', { resolver }), 'example.co.uk');
    assert.equal(await organizationalDomain('example.com', { resolver }), 'example.com');
  });

  it('uses the record at the domain itself', async () => {
    const d = await discoverDmarc('example.co.uk', { resolver });
    assert.deepEqual(d, {
      kind: 'found',
      name: '_dmarc.example.co.uk',
      record: 'v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@reports.example.net',
      policyDomain: 'example.co.uk',
      orgDomain: 'example.co.uk',
      inherited: false,
    });
  });

  it('falls back to the organizational domain for a subdomain without a record', async () => {
    const d = await discoverDmarc('shop.example.co.uk', { resolver });
    assert.equal(d.kind, 'found');
    assert.equal(d.kind === 'found' && d.inherited, true);
    assert.equal(d.kind === 'found' && d.policyDomain, 'example.co.uk');
  });

  it('tells several records, a DNS failure and no record apart', async () => {
    assert.equal((await discoverDmarc('two.example.com', { resolver })).kind, 'multiple');
    const slow = await discoverDmarc('slow.example.org', { resolver });
    assert.equal(slow.kind, 'failed');
    assert.deepEqual(await discoverDmarc('mail.nothing.example', { resolver }), {
      kind: 'none',
      asked: ['_dmarc.mail.nothing.example', '_dmarc.nothing.example'],
      orgDomain: 'nothing.example',
    });
  });
});

describe('external report destinations (RFC 7489 §7.1)', () => {
  it('asks <policy domain>._report._dmarc.<destination> only for other organizational domains', async () => {
    const parsed = parseDmarcRecord(
      'v=DMARC1; p=none; rua=mailto:a@example.co.uk,mailto:b@sub.example.co.uk,mailto:c@reports.example.net,mailto:d@elsewhere.example,https://r.example/',
    );
    assert.ok(parsed.ok);
    const checks = await checkReportDestinations('example.co.uk', 'example.co.uk', parsed.record.rua, { resolver });
    assert.deepEqual(
      checks.map((c) => [c.domain, c.authorization, c.query]),
      [
        ['example.co.uk', 'internal', null],
        ['sub.example.co.uk', 'internal', null],
        ['reports.example.net', 'authorized', 'example.co.uk._report._dmarc.reports.example.net'],
        ['elsewhere.example', 'missing', 'example.co.uk._report._dmarc.elsewhere.example'],
        [null, 'not-mailto', null],
      ],
    );
    assert.match(checks[3]!.detail ?? '', /does not publish example\.co\.uk\._report\._dmarc\.elsewhere\.example/);
  });
});
