import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDmarcSyntax, checkSpfSyntax, isSpfText, txtText } from './mail-txt.js';

describe('SPF syntax (RFC 7208)', () => {
  it('§4.5: an SPF record starts with v=spf1 then a space or the end', () => {
    assert.equal(isSpfText('v=spf1 -all'), true);
    assert.equal(isSpfText('V=SPF1'), true);
    assert.equal(isSpfText('v=spf10 -all'), false);
    assert.equal(isSpfText('google-site-verification=x'), false);
  });

  it('§3.3: character-strings are joined without spaces', () => {
    assert.equal(
      txtText([Buffer.from('v=spf1 ip4:192.0.2.0'), Buffer.from('/24 -all')]),
      'v=spf1 ip4:192.0.2.0/24 -all',
    );
  });

  it('accepts every mechanism form of §5 and modifiers of §6', () => {
    const ok = [
      'v=spf1',
      'v=spf1 -all',
      'v=spf1 +a ~mx ?ptr -all',
      'v=spf1 a:mail.example.com/24 mx//64 a/24//64 mx:%{d}',
      'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip4:192.0.2.1 -all',
      'v=spf1 include:_spf.google.com  exists:%{i}.bl.example ~all',
      'v=spf1 redirect=_spf.example.com',
      'v=spf1 mx exp=explain.example.com custom-mod=anything -all',
      'V=SPF1 MX -ALL',
    ];
    for (const text of ok) assert.deepEqual(checkSpfSyntax(text), [], text);
  });

  it('reports unknown mechanisms, missing arguments, bad networks and repeated modifiers', () => {
    assert.deepEqual(checkSpfSyntax('v=spf1 mx foo -all'), ['unknown mechanism "foo"']);
    assert.deepEqual(checkSpfSyntax('v=spf1 include -all'), ['"include" needs ":domain"']);
    assert.deepEqual(checkSpfSyntax('v=spf1 ip4:192.0.2.0/33'), ['"ip4:192.0.2.0/33" is not ip4:ADDRESS[/0-32]']);
    assert.deepEqual(checkSpfSyntax('v=spf1 ip6:192.0.2.1'), ['"ip6:192.0.2.1" is not ip6:ADDRESS[/0-128]']);
    assert.deepEqual(checkSpfSyntax('v=spf1 all:x'), ['"all" takes no argument']);
    assert.deepEqual(checkSpfSyntax('v=spf1 redirect=a.example redirect=b.example'), [
      '"redirect=" appears more than once (RFC 7208 §6)',
    ]);
    assert.deepEqual(checkSpfSyntax('v=spf1 !mx'), ['"!mx" is neither a mechanism nor a modifier']);
  });
});

describe('DMARC syntax (RFC 7489 §6.3–6.4)', () => {
  it('accepts a record with v first and a policy', () => {
    assert.deepEqual(checkDmarcSyntax('v=DMARC1; p=reject'), []);
    assert.deepEqual(checkDmarcSyntax('v=DMARC1;p=none;sp=quarantine;adkim=s;aspf=r;pct=50;rua=mailto:a@b'), []);
  });

  it('§6.4: v=DMARC1 must come first and match exactly', () => {
    const ignored = ['does not start with "v=DMARC1" (RFC 7489 §6.4): receivers ignore it'];
    assert.deepEqual(checkDmarcSyntax('p=reject; v=DMARC1'), ignored);
    assert.deepEqual(checkDmarcSyntax('v=dmarc1; p=reject'), ignored);
    assert.deepEqual(checkDmarcSyntax('some verification token'), ignored);
  });

  it('§6.3: p is required, and enumerated tags take their values', () => {
    assert.deepEqual(checkDmarcSyntax('v=DMARC1; rua=mailto:a@b'), ['no "p=" tag (RFC 7489 §6.3: required)']);
    assert.deepEqual(checkDmarcSyntax('v=DMARC1; p=block; pct=120; adkim=x'), [
      '"p=block" is not none, quarantine or reject',
      '"adkim=x" is not r or s',
      '"pct=120" is not 0-100',
    ]);
  });
});
