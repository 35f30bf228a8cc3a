import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainSpecError, isSpfRecord, lookupTerms, macroStringError, parseSpfRecord } from './record.js';

const ok = (text: string) => {
  const p = parseSpfRecord(text);
  assert.ok(p.ok, `${text}: ${p.ok ? '' : p.error}`);
  return p.record;
};
const bad = (text: string, pattern: RegExp) => {
  const p = parseSpfRecord(text);
  assert.equal(p.ok, false, `${text} should not parse`);
  if (!p.ok) assert.match(p.error, pattern, text);
};

describe('SPF record selection (RFC 7208 §4.5)', () => {
  it('takes v=spf1 in any case, followed by a space or the end', () => {
    assert.equal(isSpfRecord('v=spf1 -all'), true);
    assert.equal(isSpfRecord('V=SpF1'), true);
    assert.equal(isSpfRecord('v=spf10 -all'), false);
    assert.equal(isSpfRecord('v=spf1-all'), false);
    assert.equal(isSpfRecord(' v=spf1 -all'), false);
  });
});

describe('SPF record grammar (RFC 7208 §12)', () => {
  it('parses mechanisms, qualifiers, CIDR lengths and modifiers', () => {
    const r = ok(
      'v=spf1 a mx/24 a:mail.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all exp=why.%{d}',
    );
    assert.equal(r.all, '~');
    assert.equal(r.exp, 'why.%{d}');
    assert.deepEqual(
      r.terms.map((t) =>
        t.type === 'mechanism'
          ? [t.qualifier, t.mechanism, t.domainSpec, t.network, t.cidr4, t.cidr6]
          : [t.name, t.value],
      ),
      [
        ['+', 'a', null, null, null, null],
        ['+', 'mx', null, null, 24, null],
        ['+', 'a', 'mail.example.com', null, 24, 64],
        ['+', 'ip4', null, '192.0.2.0', 24, null],
        ['+', 'ip6', null, '2001:db8::', null, 32],
        ['+', 'include', '_spf.example.net', null, null, null],
        ['~', 'all', null, null, null, null],
        ['exp', 'why.%{d}'],
      ],
    );
  });

  it('accepts several spaces between terms and trailing spaces (§4.6.1), and unknown modifiers (§6)', () => {
    assert.equal(ok('v=spf1 a  -all  ').terms.length, 2);
    assert.equal(ok('v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all').terms[0]?.type, 'modifier');
    assert.equal(ok('v=spf1').terms.length, 0);
  });

  it('rejects non-ASCII and control characters (§3.1, §4.6.1)', () => {
    bad('v=spf1 a:\u00efgarbage.example.net -all', /printable ASCII/);
    bad('v=spf1 a:ctrl.example.com\rptr -all', /printable ASCII/);
    bad('v=spf1 a\t-all', /printable ASCII/);
  });

  it('detects errors after "all" too (§4.6: anywhere in the record)', () => {
    bad('v=spf1 -all ip6', /needs ":" and an address/);
    bad('v=spf1 ip4:1.2.3.4 -all moo', /not an SPF mechanism/);
  });

  it('checks mechanism arguments (§5)', () => {
    bad('v=spf1 -all.', /not an SPF mechanism/);
    bad('v=spf1 -all:foo', /takes no argument/);
    bad('v=spf1 include', /needs ":"/);
    bad('v=spf1 include: -all', /empty/);
    bad('v=spf1 include:ip5.example.com/24', /top-level label/);
    bad('v=spf1 exists', /needs ":"/);
    bad('v=spf1 ptr/0 -all', /needs ":"/);
    ok('v=spf1 ptr ptr:example.com -all');
    bad('v=spf1 redirect:t2.example.com', /not an SPF mechanism/);
  });

  it('checks addresses and prefix lengths (§5.6)', () => {
    bad('v=spf1 ip4:1.2.3', /not a valid address/);
    bad('v=spf1 ip4:1.2.3.4:8080', /not a valid address/);
    bad('v=spf1 ip4:01.2.3.4', /not a valid address/);
    bad('v=spf1 ip4:1.2.3.4/33', /prefix length/);
    bad('v=spf1 ip4:1.2.3.4/032', /prefix length/);
    bad('v=spf1 ip4:1.2.3.4//32', /prefix length/);
    bad('v=spf1 ip6:::1.1.1.1/129', /prefix length/);
    bad('v=spf1 ip6:::1.1.1.1//33', /prefix length/);
    bad('v=spf1 ip6::CAFE::BABE', /not a valid address/);
    ok('v=spf1 ip6:::FFFF:1.2.3.4 ip6:Cafe:Babe:8000::/33 ip4:0.0.0.0/0');
    bad('v=spf1 a/33 -all', /IPv4 prefix length/);
    bad('v=spf1 a//129 -all', /IPv6 prefix length/);
    bad('v=spf1 a/24/64 -all', /CIDR/);
    ok('v=spf1 a//0 mx/0 a/24//64');
  });

  it('checks modifiers: redirect and exp once each, with a domain-spec (§6)', () => {
    bad('v=spf1 redirect=a.example.com redirect=b.example.com', /more than once/);
    bad('v=spf1 exp=a.example.com -all exp=b.example.com', /more than once/);
    bad('v=spf1 ?all redirect=', /empty/);
    bad('v=spf1 exp= -all', /empty/);
    bad('v=spf1 exp=-all', /top-level label/);
    bad('v=spf1 1up=foo', /not an SPF mechanism/);
    bad('v=spf1 =all', /not an SPF mechanism/);
    bad('v=spf1 -all foo=%abc', /"%" must be followed/);
    ok('v=spf1 default=+');
  });
});

describe('domain-spec and macros (RFC 7208 §7.1)', () => {
  it('needs a macro or a valid top label at the end', () => {
    assert.equal(domainSpecError('mail.example.com'), null);
    assert.equal(domainSpecError('mail.example.com.'), null);
    assert.equal(domainSpecError('foo.example.xn--zckzah'), null);
    assert.equal(domainSpecError('%{d}'), null);
    assert.equal(domainSpecError('%{ir}.%{v}._spf.%{d2}'), null);
    assert.equal(domainSpecError('foo:bar/baz.example.com'), null);
    assert.equal(domainSpecError('macro%%percent%_%_space%-url-space.example.com'), null);
    assert.match(domainSpecError('museum') ?? '', /top-level label/);
    assert.match(domainSpecError('museum.') ?? '', /top-level label/);
    assert.match(domainSpecError('111.222.33.44') ?? '', /all-numeric/);
    assert.match(domainSpecError('abc.123') ?? '', /all-numeric/);
    assert.match(domainSpecError('example.-com') ?? '', /valid top-level label/);
    assert.match(domainSpecError('foo.example.com\0') ?? '', /not allowed/);
  });

  it('knows the macro letters, and keeps c, r and t for explanation text', () => {
    assert.equal(macroStringError('%{s}%{L}%{o}%{d2r}%{i}%{p}%{h}%{v}%{l2r+-}'), null);
    assert.match(macroStringError('%{r}.example.com') ?? '', /only in explanation/);
    assert.equal(macroStringError('%{c} is %{r} at %{t}', { explanation: true }), null);
    assert.match(macroStringError('%{a}.example.com') ?? '', /not a macro letter/);
    assert.match(macroStringError('%(ir).sbl.example.com') ?? '', /must be followed/);
    assert.match(macroStringError('foo%.sbl.example.com') ?? '', /must be followed/);
    assert.match(macroStringError('%{d0}') ?? '', /zero labels/);
    assert.match(macroStringError('%{d') ?? '', /not closed/);
  });
});

describe('look-up terms (RFC 7208 §4.6.4)', () => {
  it('counts include, a, mx, ptr, exists, and redirect only without all', () => {
    const count = (t: string) => lookupTerms(ok(t)).length;
    assert.equal(count('v=spf1 a mx ptr exists:x.example.com include:y.example.com ip4:192.0.2.1 -all'), 5);
    assert.equal(count('v=spf1 a redirect=x.example.com'), 2);
    assert.equal(count('v=spf1 a redirect=x.example.com -all'), 1);
    assert.equal(count('v=spf1 ip4:192.0.2.1 exp=x.example.com -all'), 0);
  });
});
