import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMxError } from '../core/errors.js';
import { canonicalName, fqdn, isSubdomain, normalizeName } from './name.js';

describe('normalizeName', () => {
  it('turns Unicode labels into A-labels (IDNA / UTS #46)', () => {
    assert.equal(normalizeName('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeName('メール.例え.jp'), 'xn--4dkua4c.xn--r8jz45g.jp');
    assert.equal(normalizeName('BÜCHER.Example'), 'xn--bcher-kva.example');
  });

  it('folds case and drops one trailing dot', () => {
    assert.equal(normalizeName('Mail.Example.COM.'), 'mail.example.com');
    assert.equal(normalizeName('  example.com  '), 'example.com');
    assert.equal(normalizeName('例え。jp'), 'xn--r8jz45g.jp');
  });

  it('accepts underscores (service names) and the root when allowed', () => {
    assert.equal(normalizeName('_dmarc.Example.com'), '_dmarc.example.com');
    assert.equal(normalizeName('_25._tcp.mx.example.com'), '_25._tcp.mx.example.com');
    assert.equal(normalizeName('.', { allowRoot: true }), '');
    assert.equal(normalizeName('*.example.com', { allowWildcard: true }), '*.example.com');
  });

  const refusals: [string, RegExp][] = [
    ['', /empty/],
    ['.', /empty/],
    ['a..b', /label 2 is empty/],
    ['.example.com', /label 1 is empty/],
    ['example.com..', /label 3 is empty/],
    [`${'a'.repeat(64)}.com`, /64 octets \(at most 63\)/],
    [Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.'), /at most 253/],
    ['exa mple.com', /control or space|character " "/],
    ['ex@mple.com', /character "@"/],
    ['example.com/x', /character "\/"/],
    ['*.example.com', /character "\*"/],
    ['a\u0000b.com', /control/],
  ];
  for (const [input, why] of refusals) {
    it(`refuses ${JSON.stringify(input.length > 30 ? input.slice(0, 30) + '…' : input)} and says why`, () => {
      assert.throws(
        () => normalizeName(input),
        (err: unknown) => isMxError(err, 'MX_INVALID_NAME') && why.test(err.message),
      );
    });
  }

  it('accepts a name of exactly 253 octets and labels of 63', () => {
    const name = [61, 63, 63, 63].map((n, i) => String.fromCharCode(97 + i).repeat(n)).join('.');
    assert.equal(name.length, 253);
    assert.equal(normalizeName(name), name);
  });
});

describe('name helpers', () => {
  it('fqdn, canonicalName, isSubdomain', () => {
    assert.equal(fqdn('example.com'), 'example.com.');
    assert.equal(fqdn(''), '.');
    assert.equal(canonicalName('Mail.Example.COM.'), 'mail.example.com');
    assert.equal(canonicalName('.'), '');
    assert.ok(isSubdomain('a.example.com', 'example.com'));
    assert.ok(isSubdomain('example.com', 'example.com'));
    assert.ok(!isSubdomain('badexample.com', 'example.com'));
    assert.ok(isSubdomain('anything', ''));
  });
});
