import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMxError } from '../core/errors.js';
import { formatServer, parseResolvConf, parseServer } from './servers.js';

describe('parseServer', () => {
  const cases: [string, { host: string; port: number }][] = [
    ['127.0.0.1', { host: '127.0.0.1', port: 53 }],
    ['127.0.0.1:5300', { host: '127.0.0.1', port: 5300 }],
    ['::1', { host: '::1', port: 53 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['[::1]', { host: '::1', port: 53 }],
    ['localhost:5300', { host: '127.0.0.1', port: 5300 }],
    ['ns1.example.com', { host: 'ns1.example.com', port: 53 }],
  ];
  for (const [input, want] of cases) it(`parses ${input}`, () => assert.deepEqual(parseServer(input), want));

  for (const bad of ['', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1:x', '[127.0.0.1]:53', 'a:b:c', 'bad host']) {
    it(`refuses ${JSON.stringify(bad)}`, () =>
      assert.throws(
        () => parseServer(bad),
        (e: unknown) => isMxError(e, 'MX_INVALID_SERVER'),
      ));
  }

  it('formats IPv6 with brackets', () => {
    assert.equal(formatServer({ host: '::1', port: 53 }), '[::1]:53');
    assert.equal(formatServer({ host: '127.0.0.1', port: 5300 }), '127.0.0.1:5300');
  });
});

describe('parseResolvConf', () => {
  it('reads nameserver lines and ignores the rest', () => {
    const text =
      '# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\noptions edns0\nnameserver bogus\n';
    assert.deepEqual(parseResolvConf(text), [
      { host: '127.0.0.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
  });
});
