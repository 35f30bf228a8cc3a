import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryResolver } from './memory-resolver.js';
import type { NodeDnsError } from './node-resolver.js';
import { toNodeResolver } from './node-resolver.js';

const resolver = memoryResolver({
  'example.test': [
    { type: 'A', data: '192.0.2.1' },
    { type: 'AAAA', data: '2001:db8::1' },
    { type: 'MX', data: { preference: 10, exchange: 'mx.example.test' } },
    { type: 'TXT', data: ['v=spf1 ', 'mx -all'] },
    { type: 'TXT', data: [Buffer.from('second')] },
  ],
  '1.2.0.192.in-addr.arpa': [{ type: 'PTR', data: 'example.test' }],
  'slow.test': ['timeout'],
  'broken.test': ['servfail'],
});

async function code(name: string, type: string): Promise<string> {
  try {
    await toNodeResolver(resolver)(name, type);
    return 'no error';
  } catch (err) {
    return (err as NodeDnsError).code;
  }
}

describe('toNodeResolver: our outcomes in the shapes of dns.promises.resolve', () => {
  it('returns node’s record shapes', async () => {
    const node = toNodeResolver(resolver);
    assert.deepEqual(await node('example.test', 'A'), ['192.0.2.1']);
    assert.deepEqual(await node('Example.Test.', 'AAAA'), ['2001:db8::1']);
    assert.deepEqual(await node('example.test', 'MX'), [{ priority: 10, exchange: 'mx.example.test' }]);
    assert.deepEqual(await node('example.test', 'TXT'), [['v=spf1 ', 'mx -all'], ['second']]);
    assert.deepEqual(await node('1.2.0.192.in-addr.arpa', 'PTR'), ['example.test']);
  });

  it('throws node’s codes: ENOTFOUND, ENODATA, ETIMEOUT, ESERVFAIL', async () => {
    assert.equal(await code('nowhere.test', 'A'), 'ENOTFOUND');
    assert.equal(await code('example.test', 'NS'), 'ENODATA');
    assert.equal(await code('slow.test', 'TXT'), 'ETIMEOUT');
    assert.equal(await code('broken.test', 'TXT'), 'ESERVFAIL');
  });

  it('keeps the outcome on the error, and names the question like node does', async () => {
    const err = await toNodeResolver(resolver)('slow.test', 'TXT').then(
      () => assert.fail('no error'),
      (e: unknown) => e as NodeDnsError,
    );
    assert.equal(err.hostname, 'slow.test');
    assert.equal(err.syscall, 'queryTXT');
    assert.equal(err.outcome?.kind, 'timeout');
  });

  it('does not ask for names DNS cannot carry: they do not exist', async () => {
    const before = resolver.calls.length;
    assert.equal(await code('a..example.test', 'A'), 'ENOTFOUND');
    assert.equal(await code(`${'a'.repeat(64)}.example.test`, 'A'), 'ENOTFOUND');
    assert.equal(resolver.calls.length, before);
  });
});
