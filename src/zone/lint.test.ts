import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lintZoneText } from './lint.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones/', import.meta.url));
const MISTAKES = fileURLToPath(new URL('../../test/fixtures/zone-lint/mistakes.example.zone', import.meta.url));

const HEAD =
  '$ORIGIN t.example.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n';
const lint = (body: string) => lintZoneText(HEAD + body, { file: 't.zone' }).issues;
const ids = (body: string) => lint(body).map((i) => `${i.line} ${i.id}`);

describe('lintZoneText', () => {
  it("the primer's example zones have no error; the only warning is Microsoft 365's single MX", () => {
    const issues = readdirSync(EXAMPLES)
      .filter((n) => n.endsWith('.zone'))
      .flatMap((n) => lintZoneText(readFileSync(EXAMPLES + n, 'utf8'), { file: n }).issues);
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.id, i.severity]),
      [['m365.example.zone', 13, 'mx.single', 'warning']],
    );
    assert.match(issues[0]!.message, /Microsoft 365 documents a single MX/);
  });

  it('finds each mistake of the fixture on its line', () => {
    const r = lintZoneText(readFileSync(MISTAKES, 'utf8'), { file: 'mistakes.zone' });
    assert.equal(r.origin, 'mistakes.example');
    assert.equal(r.unreadable, false);
    assert.deepEqual(
      r.issues.map((i) => `${i.line} ${i.severity} ${i.id} ${i.subject}`),
      [
        '10 warning mx.shared-address 127.0.40.1',
        '11 warning mx.cname-target alias.mistakes.example.',
        '16 error spf.multiple mistakes.example.',
        '16 error spf.syntax mistakes.example.',
        '17 error dmarc.syntax _dmarc.mistakes.example.',
        '18 error mx.null-with-others nullmix.mistakes.example.',
        '20 error mx.ip-literal 192.0.2.25',
        '22 error mx.no-address ghost.mistakes.example.',
        '23 info mx.duplicate ghost.mistakes.example.',
        '25 warning mx.wildcard *.mistakes.example.',
        '25 info mx.ttl-low *.mistakes.example.',
        '26 warning mx.shared-address 127.0.40.1',
      ],
    );
  });

  it('RFC 7505: a lone null MX is fine; a null MX beside others is an error', () => {
    assert.deepEqual(ids('@ MX 0 .\n'), []);
    assert.deepEqual(ids('@ MX 0 .\n@ MX 10 ns1\n'), ['6 mx.null-with-others']);
  });

  it('mx.single for one host, also when it is listed twice', () => {
    assert.deepEqual(ids('@ MX 10 ns1\n'), ['6 mx.single']);
    assert.deepEqual(ids('@ MX 10 ns1\n@ MX 20 ns1\n'), ['6 mx.single', '7 mx.duplicate']);
    assert.deepEqual(ids('@ MX 10 a\n@ MX 20 b\na A 192.0.2.1\nb AAAA 2001:db8::1\n'), []);
  });

  it('mx.ip-literal reads the exchange as written, absolute or relative', () => {
    assert.deepEqual(ids('@ MX 10 192.0.2.1.\n@ MX 20 ns1\n'), ['6 mx.ip-literal']);
    assert.deepEqual(ids('@ MX 10 192.0.2.1\n@ MX 20 ns1\n'), ['6 mx.ip-literal']);
  });

  it('mx.no-address only for exchanges in the zone, not below a delegation, not covered by a wildcard', () => {
    assert.deepEqual(ids('@ MX 10 mx.other.example.\n@ MX 20 ns1\n'), []);
    assert.deepEqual(ids('@ MX 10 mx.sub\n@ MX 20 ns1\nsub NS ns.elsewhere.example.\n'), []);
    assert.deepEqual(ids('@ MX 10 a.hosts\n@ MX 20 ns1\n*.hosts A 192.0.2.9\n'), []);
    // RFC 4592: the wildcard does not cover a name that exists (here with a TXT only).
    assert.deepEqual(ids('@ MX 10 a.hosts\n@ MX 20 ns1\n*.hosts A 192.0.2.9\na.hosts TXT "x"\n'), ['6 mx.no-address']);
  });

  it('mx.shared-address names the address two exchanges share; CNAME exchanges are reported as such', () => {
    const issues = lint('@ MX 10 a\n@ MX 20 b\na A 192.0.2.1\nb A 192.0.2.1\n');
    assert.deepEqual(
      issues.map((i) => [i.line, i.id, i.subject]),
      [[7, 'mx.shared-address', '192.0.2.1']],
    );
    assert.deepEqual(ids('@ MX 10 a\n@ MX 20 ns1\na CNAME ns1\n'), ['6 mx.cname-target']);
  });

  it('mx.ttl-low under 300 s, once per MX set', () => {
    assert.deepEqual(ids('@ 299 MX 10 a\n@ 299 MX 20 ns1\na A 192.0.2.1\n'), ['6 mx.ttl-low']);
    assert.deepEqual(ids('@ 300 MX 10 a\n@ 300 MX 20 ns1\na A 192.0.2.1\n'), []);
  });

  it('spf.multiple and spf.syntax per name; dmarc.syntax for any TXT at _dmarc', () => {
    assert.deepEqual(ids('@ TXT "v=spf1 -all"\nsub TXT "v=spf1 -all"\n'), []);
    assert.deepEqual(ids('@ TXT "v=spf1 -all"\n@ TXT "v=spf1 mx -all"\n'), ['7 spf.multiple']);
    assert.deepEqual(ids('@ TXT "v=spf1 mx a:"\n'), ['6 spf.syntax']);
    assert.deepEqual(ids('_dmarc TXT "v=DMARC1; p=none"\n'), []);
    assert.deepEqual(ids('_dmarc TXT "hello"\n'), ['6 dmarc.syntax']);
    assert.deepEqual(ids('_dmarc TXT "v=DMARC1; p=none"\n_dmarc TXT "v=DMARC1; p=reject"\n'), ['7 dmarc.syntax']);
  });

  it('a file parseZone refuses is one issue with the line of the error, and no rule runs', () => {
    const r = lintZoneText('$ORIGIN b.example.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n@ MX 10\n', { file: 'b.zone' });
    assert.equal(r.unreadable, true);
    assert.deepEqual(
      r.issues.map((i) => [i.file, i.line, i.id, i.severity]),
      [['b.zone', 4, 'zone.syntax', 'error']],
    );
    assert.match(r.issues[0]!.message, /^MX record for b\.example: MX needs a preference and an exchange/);
    const c = lintZoneText('$ORIGIN c.example.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nw CNAME ns\nw A 192.0.2.1\n', {
      file: 'c.zone',
    });
    assert.deepEqual(
      c.issues.map((i) => [i.line, i.id]),
      [[5, 'zone.conflict']],
    );
  });

  it('uses the origin option for a file without $ORIGIN', () => {
    const r = lintZoneText('@ SOA ns h 1 2 3 4 5\n@ NS ns\n@ MX 10 mail\n', { file: 'o.zone', origin: 'o.example' });
    assert.equal(r.origin, 'o.example');
    assert.deepEqual(
      r.issues.map((i) => i.id),
      ['mx.single', 'mx.no-address'],
    );
  });
});
