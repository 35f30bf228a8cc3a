import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../../auth/memory-resolver.js';
import { memoryResolver } from '../../auth/memory-resolver.js';
import { resolveRoute } from '../../mx/route.js';
import { checkContext } from '../context.js';
import { checkTlsRpt } from './tls-rpt.js';

const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));
const resolver = memoryResolver({
  '_smtp._tls.ok.example': txt('v=TLSRPTv1; rua=mailto:tls@ok.example'),
  '_smtp._tls.two.example': txt('v=TLSRPTv1; rua=mailto:a@two.example', 'v=TLSRPTv1; rua=mailto:b@two.example'),
  '_smtp._tls.other.example': txt('v=spf1 -all'),
  '_smtp._tls.slow.example': ['timeout'],
});

async function run(domain: string) {
  const ctx = checkContext({ domain, resolver, route: await resolveRoute(domain, { resolver, seed: 1 }), now: 0 });
  return checkTlsRpt(ctx);
}

describe('checkTlsRpt (RFC 8460 §3)', () => {
  it('puts the destinations in data', async () => {
    const out = await run('ok.example');
    assert.deepEqual(out.findings, []);
    assert.deepEqual(out.data.rua, [{ uri: 'mailto:tls@ok.example', scheme: 'mailto', target: 'tls@ok.example' }]);
  });

  it('raises tls-rpt.none without a v=TLSRPTv1 record, even beside other TXT records', async () => {
    for (const domain of ['none.example', 'other.example']) {
      assert.deepEqual(
        (await run(domain)).findings.map((f) => f.id),
        ['tls-rpt.none'],
      );
    }
  });

  it('puts several records (senders then use none) and DNS failures in data only', async () => {
    const two = await run('two.example');
    assert.deepEqual(two.findings, []);
    assert.match(String(two.data.error), /2 records/);
    const slow = await run('slow.example');
    assert.deepEqual(slow.findings, []);
    assert.equal(slow.data.present, null);
  });
});
