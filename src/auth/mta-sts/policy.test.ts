import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coveringPattern, matchesMxPattern, mxPatternError, parseMtaStsPolicy } from './policy.js';

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\n';

describe('MTA-STS policy (RFC 8461 §3.2)', () => {
  it('parses the fields, CRLF or LF, with mx patterns lowercased and deduplicated', () => {
    const r = parseMtaStsPolicy(POLICY + 'mx: mail.example.com\r\n');
    assert.ok(r.ok);
    assert.deepEqual(r.policy, {
      version: 'STSv1',
      mode: 'enforce',
      maxAge: 604800,
      mx: ['mail.example.com', '*.example.net'],
      extensions: [],
    });
    assert.ok(parseMtaStsPolicy(POLICY.replace(/\r\n/g, '\n')).ok);
  });

  it('ignores unknown fields and allows mode none without mx', () => {
    const r = parseMtaStsPolicy('version: STSv1\nmode: none\nmax_age: 86400\nfuture_field: x\n');
    assert.ok(r.ok);
    assert.deepEqual(r.policy.extensions, [{ name: 'future_field', value: 'x' }]);
  });

  it('rejects a missing or wrong version, mode or max_age, and an enforce policy without mx', () => {
    const errors = (text: string) => {
      const r = parseMtaStsPolicy(text);
      return r.ok ? '' : r.errors.join('; ');
    };
    assert.match(errors('mode: enforce\nmx: a.example.com\nmax_age: 1\n'), /"version: STSv1" field is missing/);
    assert.match(errors('version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 1\n'), /not "STSv1"/);
    assert.match(errors('version: STSv1\nmx: a.example.com\nmax_age: 1\n'), /"mode" field is missing/);
    assert.match(errors('version: STSv1\nmode: report\nmx: a.example.com\nmax_age: 1\n'), /mode "report"/);
    assert.match(errors('version: STSv1\nmode: enforce\nmx: a.example.com\n'), /"max_age" field is missing/);
    assert.match(errors('version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n'), /max_age "31557601"/);
    assert.match(errors('version: STSv1\nmode: testing\nmax_age: 86400\n'), /no "mx" field/);
    assert.match(errors('version: STSv1\nmode: enforce\nmx: *.*.example.com\nmax_age: 1\n'), /not a host name/);
    assert.match(errors('<html>hello</html>\n'), /not a "key: value" field/);
  });
});

describe('MX patterns (RFC 8461 §4.1)', () => {
  it('matches names exactly, ignoring case and a trailing dot', () => {
    assert.equal(matchesMxPattern('mail.example.com', 'MAIL.example.com.'), true);
    assert.equal(matchesMxPattern('mail.example.com', 'mail2.example.com'), false);
  });

  it('lets a wildcard stand for exactly one leftmost label', () => {
    assert.equal(matchesMxPattern('*.example.com', 'a.example.com'), true);
    assert.equal(matchesMxPattern('*.example.com', 'a.b.example.com'), false);
    assert.equal(matchesMxPattern('*.example.com', 'example.com'), false);
    assert.equal(matchesMxPattern('*.example.com', 'aexample.com'), false);
    assert.equal(matchesMxPattern('*.example.com', '.example.com'), false);
  });

  it('finds the covering pattern and checks pattern syntax', () => {
    assert.equal(coveringPattern({ mx: ['mail.example.com', '*.example.net'] }, 'mx1.example.net'), '*.example.net');
    assert.equal(coveringPattern({ mx: ['mail.example.com'] }, 'mx1.example.net'), null);
    assert.equal(mxPatternError('*.example.com'), null);
    assert.equal(mxPatternError('mx-1.example.com'), null);
    assert.notEqual(mxPatternError('mx..example.com'), null);
    assert.notEqual(mxPatternError('-mx.example.com'), null);
    assert.notEqual(mxPatternError('example.*'), null);
  });
});
