import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../memory-resolver.js';
import { memoryResolver } from '../memory-resolver.js';
import { evaluateSpf } from './evaluate.js';

const txt = (record: string): MemoryEntry => ({ type: 'TXT', data: [record] });

const zone: Record<string, MemoryEntry[]> = {
  'example.test': [
    txt('v=spf1 mx include:_spf.example.test -all'),
    { type: 'MX', data: { preference: 10, exchange: 'mx.example.test' } },
  ],
  'mx.example.test': [
    { type: 'A', data: '192.0.2.25' },
    { type: 'AAAA', data: '2001:db8::25' },
  ],
  '_spf.example.test': [txt('v=spf1 ip4:198.51.100.0/24 ~all')],
  'servfail.test': [txt('v=spf1 include:broken.test ip4:192.0.2.1 -all')],
  'broken.test': ['servfail'],
  'late-syntax.test': [txt('v=spf1 ip4:192.0.2.1 include:bad.test -all')],
  'bad.test': [txt('v=spf1 ip4:192.0.2.9 -all ip6')],
};

const check = (ip: string, domain = 'example.test') =>
  evaluateSpf({ ip, sender: `postmaster@${domain}`, helo: 'client.test' }, { resolver: memoryResolver(zone) });

describe('evaluateSpf (RFC 7208 §4)', () => {
  it('passes an MX address (§5.4), over IPv4 and IPv6', async () => {
    const v4 = await check('192.0.2.25');
    assert.equal(v4.result, 'pass');
    assert.equal(v4.record, 'v=spf1 mx include:_spf.example.test -all');
    assert.equal((await check('2001:db8::25')).result, 'pass');
  });

  it('passes through an include (§5.2) and fails anyone else at -all', async () => {
    assert.equal((await check('198.51.100.7')).result, 'pass');
    const other = await check('203.0.113.1');
    assert.equal(other.result, 'fail');
    assert.deepEqual(other.lookups, { count: 2, void: 0 }, 'mx and include; the MX host addresses are sub-queries');
  });

  it('gives none for a domain without a record (§4.5)', async () => {
    assert.equal((await check('192.0.2.1', 'nowhere.test')).result, 'none');
  });

  it('makes SERVFAIL inside an include a temperror (§5.2), which mailauth alone swallowed', async () => {
    const r = await check('192.0.2.1', 'servfail.test');
    assert.equal(r.result, 'temperror');
    assert.match(r.comment, /ESERVFAIL/);
  });

  it('makes a syntax error in an included record a permerror even past a match there (§4.6)', async () => {
    const r = await check('192.0.2.9', 'late-syntax.test');
    assert.equal(r.result, 'permerror');
    assert.match(r.comment, /bad\.test/);
  });

  it('throws the caller’s abort instead of calling it a temperror', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(
      evaluateSpf(
        { ip: '192.0.2.1', sender: 'a@example.test' },
        { resolver: memoryResolver(zone), signal: controller.signal },
      ),
      /stop/,
    );
  });
});
