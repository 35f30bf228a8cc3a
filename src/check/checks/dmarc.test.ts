import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../../auth/memory-resolver.js';
import { memoryResolver } from '../../auth/memory-resolver.js';
import { resolveRoute } from '../../mx/route.js';
import { checkContext } from '../context.js';
import { checkDmarc } from './dmarc.js';

const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));
const resolver = memoryResolver({
  '_dmarc.ok.example': txt('v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; rua=mailto:d@ok.example'),
  '_dmarc.two.example': txt('v=DMARC1; p=none', 'v=DMARC1; p=reject'),
  '_dmarc.slow.example': ['timeout'],
  '_dmarc.inherit.example': txt('v=DMARC1; p=reject'),
  '_dmarc.weak.example': txt('v=DMARC1; p=quarantine; sp=none'),
});

async function run(domain: string) {
  const ctx = checkContext({ domain, resolver, route: await resolveRoute(domain, { resolver, seed: 1 }), now: 0 });
  return checkDmarc(ctx);
}

describe('checkDmarc (RFC 7489)', () => {
  it('reports the parsed tags and the policy in effect, and no finding for p=reject', async () => {
    const out = await run('ok.example');
    assert.deepEqual(out.findings, []);
    assert.deepEqual(out.data.tags, {
      p: 'reject',
      sp: 'quarantine',
      pct: 50,
      rua: ['mailto:d@ok.example'],
      ruf: [],
      adkim: 's',
      aspf: 'r',
    });
    assert.equal(out.data.policy, 'reject');
  });

  it('makes several records dmarc.syntax (§6.6.3 applies no policy), and a DNS failure data only', async () => {
    assert.deepEqual(
      (await run('two.example')).findings.map((f) => f.id),
      ['dmarc.syntax'],
    );
    const slow = await run('slow.example');
    assert.deepEqual(slow.findings, []);
    assert.equal(slow.data.lookup, 'failed');
  });

  it('applies the organizational record to a subdomain: its sp, or p without sp', async () => {
    const strong = await run('mail.inherit.example');
    assert.deepEqual(strong.findings, []);
    assert.equal(strong.data.inherited, true);
    assert.equal(strong.data.policy, 'reject');
    const weak = await run('mail.weak.example');
    assert.deepEqual(
      weak.findings.map((f) => f.id),
      ['dmarc.policy-none'],
    );
    assert.equal((await run('weak.example')).findings.length, 0, 'the domain itself has p=quarantine');
  });
});
