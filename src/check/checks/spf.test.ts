import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../../auth/memory-resolver.js';
import { memoryResolver } from '../../auth/memory-resolver.js';
import { analyzeSpf } from '../../auth/spf/analyze.js';
import type { Resolver } from '../../dns/resolver.js';
import { resolveRoute } from '../../mx/route.js';
import type { CheckContext } from '../context.js';
import { checkContext } from '../context.js';
import { checkSpf, spfFindings } from './spf.js';

const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));

const zone: Record<string, MemoryEntry[]> = {
  'ok.test': [...txt('v=spf1 mx -all'), { type: 'MX', data: { preference: 10, exchange: 'mx.ok.test' } }],
  'mx.ok.test': [{ type: 'A', data: '192.0.2.25' }],
  'badinclude.test': txt('v=spf1 include:gone.test include:broken.test -all'),
  'broken.test': txt('v=spf1 a:museum'),
  'loop.test': txt('v=spf1 include:loop.test -all'),
  'manymx.test': [
    ...txt('v=spf1 mx -all'),
    ...Array.from({ length: 11 }, (_, i): MemoryEntry => ({
      type: 'MX',
      data: { preference: i, exchange: `m${i}.test` },
    })),
  ],
  'noall.test': txt('v=spf1 ip4:192.0.2.1'),
  'openinclude.test': txt('v=spf1 include:open.test -all'),
  'open.test': txt('v=spf1 +all'),
  'macro.test': txt('v=spf1 redirect=%{d}.spf.test'),
  'slow.test': ['timeout'],
};
const resolver = memoryResolver(zone);
const findingsOf = async (domain: string) => spfFindings(domain, await analyzeSpf(domain, { resolver }));
const ids = async (domain: string) => (await findingsOf(domain)).map((f) => `${f.id} ${f.subject}`);

async function context(domain: string, r: Resolver = resolver): Promise<CheckContext> {
  return checkContext({ domain, resolver: r, route: await resolveRoute(domain, { resolver: r, seed: 1 }), now: 0 });
}

describe('checkSpf findings (RFC 7208)', () => {
  it('finds nothing wrong with "mx -all", and evaluates the MX host as a sender', async () => {
    const out = await checkSpf(await context('ok.test'));
    assert.deepEqual(out.findings, []);
    assert.equal(out.data.mxAuthorised, true);
    assert.deepEqual(out.data.mxHosts, [
      {
        exchange: 'mx.ok.test',
        address: '192.0.2.25',
        result: 'pass',
        comment: 'mxray: domain of postmaster@ok.test designates 192.0.2.25 as permitted sender',
      },
    ]);
  });

  it('reports includes that lead nowhere or to a broken record as spf.syntax (§5.2)', async () => {
    assert.deepEqual(await ids('badinclude.test'), ['spf.syntax gone.test', 'spf.syntax broken.test']);
  });

  it('reports a loop and an mx with more than 10 exchanges as spf.too-many-lookups (§4.6.4)', async () => {
    assert.deepEqual(await ids('loop.test'), ['spf.too-many-lookups loop.test']);
    const mx = await findingsOf('manymx.test');
    assert.deepEqual(
      mx.map((f) => f.id),
      ['spf.too-many-lookups'],
    );
    assert.match(mx[0]!.message, /11 MX records/);
  });

  it('calls a record without all or redirect as permissive as ?all (§4.7), and an include of +all too', async () => {
    const noall = await findingsOf('noall.test');
    assert.deepEqual(
      noall.map((f) => f.id),
      ['spf.permissive-all'],
    );
    assert.match(noall[0]!.message, /default "neutral"/);
    assert.deepEqual(await ids('openinclude.test'), ['spf.permissive-all openinclude.test']);
  });

  it('says nothing it cannot back: a macro redirect or a DNS failure gives no finding', async () => {
    assert.deepEqual(await ids('macro.test'), []);
    const out = await checkSpf(await context('slow.test'));
    assert.deepEqual(out.findings, []);
    assert.equal(out.data.lookup, 'failed');
  });
});
