import assert from 'node:assert/strict';
import { it } from 'node:test';
import { reverseName } from './reverse.js';

it('builds in-addr.arpa and ip6.arpa names (RFC 1035 §3.5, RFC 3596 §2.5)', () => {
  assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.equal(
    reverseName('2001:db8::567:89ab'),
    'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
  );
  assert.equal(reverseName('::1'), `1.${'0.'.repeat(31)}ip6.arpa`);
  assert.equal(reverseName('::ffff:127.0.0.1'), reverseName('::ffff:7f00:1'));
  assert.throws(() => reverseName('not-an-ip'), /not an IP address/);
});
