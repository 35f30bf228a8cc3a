import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../memory-resolver.js';
import { memoryResolver } from '../memory-resolver.js';
import { analyzeSpf } from './analyze.js';

const txt = (...records: string[]): MemoryEntry[] => records.map((r) => ({ type: 'TXT', data: [r] }));
const a = (address: string): MemoryEntry => ({ type: 'A', data: address });
const mx = (exchange: string, preference = 10): MemoryEntry => ({ type: 'MX', data: { preference, exchange } });

describe('analyzeSpf: the record (RFC 7208 §4.4, §4.5)', () => {
  it('reports none, multiple, a DNS failure, and a syntax error at the top', async () => {
    const resolver = memoryResolver({
      'none.test': txt('google-site-verification=x'),
      'two.test': txt('v=spf1 -all', 'v=spf1 mx -all'),
      'slow.test': ['timeout'],
      'broken.test': txt('v=spf1 a:museum -all'),
    });
    assert.equal((await analyzeSpf('none.test', { resolver })).lookup, 'none');
    assert.equal((await analyzeSpf('nowhere.test', { resolver })).lookup, 'none');
    const two = await analyzeSpf('two.test', { resolver });
    assert.equal(two.lookup, 'multiple');
    assert.equal(two.records.length, 2);
    const slow = await analyzeSpf('slow.test', { resolver });
    assert.equal(slow.lookup, 'failed');
    assert.match(slow.failure ?? '', /no reply/);
    const broken = await analyzeSpf('broken.test', { resolver });
    assert.equal(broken.lookup, 'found');
    assert.equal(broken.syntaxError?.term, 'a:museum');
    assert.equal(broken.ending, null);
  });

  it('asks one TXT question for a record without look-up terms', async () => {
    const resolver = memoryResolver({ 'flat.test': txt('v=spf1 ip4:192.0.2.0/24 -all') });
    const r = await analyzeSpf('flat.test', { resolver });
    assert.deepEqual(resolver.calls, [{ name: 'flat.test', type: 'TXT' }]);
    assert.deepEqual(r.ending, { kind: 'all', qualifier: '-', domain: 'flat.test' });
    assert.equal(r.lookupTerms.length, 0);
  });
});

describe('analyzeSpf: look-up counting through includes and redirects (RFC 7208 §4.6.4)', () => {
  const zone = {
    'big.test': txt('v=spf1 mx a include:one.test include:two.test redirect=three.test'),
    'one.test': txt('v=spf1 a:a1.one.test a:a2.one.test a:a3.one.test -all'),
    'two.test': txt('v=spf1 include:one.test ip4:192.0.2.1 -all'),
    'three.test': txt('v=spf1 exists:%{i}.rbl.three.test ptr ~all'),
    'a1.one.test': [a('192.0.2.11')],
    'a2.one.test': [a('192.0.2.12')],
    'a3.one.test': [a('192.0.2.13')],
  };

  it('counts every DNS-querying term of the tree, an include reached twice twice', async () => {
    const r = await analyzeSpf('big.test', { resolver: memoryResolver(zone) });
    // big: mx a include include redirect (5, redirect counts: no all) + one: 3 + two: include (1) + one again: 3
    // + three: exists ptr (2) = 14.
    assert.equal(r.lookupTerms.length, 14);
    assert.deepEqual(
      r.lookupTerms.filter((t) => t.macro),
      [{ domain: 'three.test', term: 'exists:%{i}.rbl.three.test', macro: true }],
    );
    assert.deepEqual(r.ending, { kind: 'all', qualifier: '~', domain: 'three.test' });
    assert.deepEqual(
      r.tree?.children.map((c) => [c.via, c.domain, c.lookups]),
      [
        ['include', 'one.test', 3],
        ['include', 'two.test', 1],
        ['redirect', 'three.test', 2],
      ],
    );
  });

  it('counts void look-ups: NXDOMAIN or no answer (big.test has no MX and no address)', async () => {
    const r = await analyzeSpf('big.test', { resolver: memoryResolver(zone) });
    assert.deepEqual(
      r.voidLookups.map((v) => [v.term, v.target, v.outcome]),
      [
        ['mx', 'big.test', 'nodata'],
        ['a', 'big.test', 'nodata'],
      ],
    );
  });

  it('reports includes to domains without SPF, loops, and mx targets with more than 10 exchanges', async () => {
    const many = Array.from({ length: 11 }, (_, i) => mx(`mx${i}.many.test`, i));
    const resolver = memoryResolver({
      'bad.test': txt('v=spf1 include:gone.test include:nospf.test include:loop1.test mx:many.test -all'),
      'nospf.test': txt('hello'),
      'loop1.test': txt('v=spf1 include:loop2.test -all'),
      'loop2.test': txt('v=spf1 include:loop1.test -all'),
      'many.test': many,
    });
    const r = await analyzeSpf('bad.test', { resolver });
    const nodes = r.tree!.children;
    assert.deepEqual(
      nodes.map((n) => [n.domain, n.status, n.voidLookup]),
      [
        ['gone.test', 'none', 'nxdomain'],
        ['nospf.test', 'none', null],
        ['loop1.test', 'ok', null],
      ],
    );
    assert.equal(nodes[2]!.children[0]!.children[0]!.status, 'loop');
    assert.deepEqual(r.mxOverLimit, [{ domain: 'bad.test', term: 'mx:many.test', target: 'many.test', exchanges: 11 }]);
    assert.equal(r.voidLookups.length, 1, 'a TXT answer without SPF is not void');
  });

  it('finds how evaluation ends: all, the default neutral, or unknown', async () => {
    const resolver = memoryResolver({
      'noall.test': txt('v=spf1 mx'),
      'redir.test': txt('v=spf1 redirect=noall.test'),
      'macro.test': txt('v=spf1 redirect=%{d}.spf.test'),
      'dead.test': txt('v=spf1 redirect=gone.test'),
      'plus.test': txt('v=spf1 include:open.test -all'),
      'open.test': txt('v=spf1 redirect=openall.test'),
      'openall.test': txt('v=spf1 +all'),
    });
    const ending = async (d: string) => (await analyzeSpf(d, { resolver })).ending;
    assert.deepEqual(await ending('noall.test'), { kind: 'default', domain: 'noall.test' });
    assert.deepEqual(await ending('redir.test'), { kind: 'default', domain: 'noall.test' });
    assert.deepEqual(await ending('macro.test'), { kind: 'unknown', domain: 'macro.test' });
    assert.deepEqual(await ending('dead.test'), { kind: 'unknown', domain: 'dead.test' });
    assert.deepEqual((await analyzeSpf('plus.test', { resolver })).passAllIncludes, [
      { domain: 'plus.test', term: 'include:open.test' },
    ]);
  });
});
