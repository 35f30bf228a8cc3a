import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../../auth/memory-resolver.js';
import { memoryResolver } from '../../auth/memory-resolver.js';
import type { MtaStsPolicy } from '../../auth/mta-sts/policy.js';
import { resolveRoute } from '../../mx/route.js';
import { checkContext } from '../context.js';
import { checkMtaSts, coverageFindings } from './mta-sts.js';

const policy = (mode: MtaStsPolicy['mode'], mx: string[]): MtaStsPolicy => ({
  version: 'STSv1',
  mode,
  maxAge: 86400,
  mx,
  extensions: [],
});

describe('MTA-STS coverage findings (RFC 8461 §4.1)', () => {
  const coverage = [
    { exchange: 'mx1.example.com', pattern: '*.example.com' },
    { exchange: 'mx.other.example', pattern: null },
  ];

  it('names each uncovered MX in enforce and testing mode, saying what senders do', () => {
    const enforce = coverageFindings('example.com', policy('enforce', ['*.example.com']), coverage);
    assert.deepEqual(
      enforce.map((f) => [f.id, f.subject]),
      [['mta-sts.mx-not-covered', 'mx.other.example']],
    );
    assert.match(enforce[0]!.message, /refuse to deliver/);
    assert.match(
      coverageFindings('example.com', policy('testing', ['*.example.com']), coverage)[0]!.message,
      /mode testing/,
    );
  });

  it('says nothing in mode none: the policy is switched off', () => {
    assert.deepEqual(coverageFindings('example.com', policy('none', []), coverage), []);
  });
});

describe('checkMtaSts without a policy to fetch', () => {
  const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));
  const resolver = memoryResolver({
    '_mta-sts.none.example': txt('something else'),
    '_mta-sts.two.example': txt('v=STSv1; id=1', 'v=STSv1; id=2'),
    '_mta-sts.slow.example': ['timeout'],
    '_mta-sts.noaddr.example': txt('v=STSv1; id=1'),
  });
  const run = async (domain: string) => {
    const ctx = checkContext({ domain, resolver, route: await resolveRoute(domain, { resolver, seed: 1 }), now: 0 });
    return checkMtaSts(ctx);
  };

  it('reports present: false and the info finding mta-sts.none when there is no record', async () => {
    const out = await run('none.example');
    assert.deepEqual(
      out.findings.map((f) => [f.id, f.severity]),
      [['mta-sts.none', 'info']],
    );
    assert.equal(out.data.present, false);
  });

  it('makes two records, and a policy host without an address, mta-sts.policy-unreachable (§3.1, §3.3)', async () => {
    const two = await run('two.example');
    assert.deepEqual(
      two.findings.map((f) => f.id),
      ['mta-sts.policy-unreachable'],
    );
    assert.match(two.findings[0]!.message, /2 records/);
    const noaddr = await run('noaddr.example');
    assert.match(noaddr.findings[0]!.message, /mta-sts\.noaddr\.example has no address/);
  });

  it('leaves a DNS failure in data', async () => {
    const out = await run('slow.example');
    assert.deepEqual(out.findings, []);
    assert.equal(out.data.present, null);
  });
});
