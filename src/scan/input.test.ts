import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMxError } from '../core/errors.js';
import { createInputParser, splitCsvLine } from './input.js';

describe('splitCsvLine (RFC 4180 §2)', () => {
  it('splits plain and quoted fields, with doubled quotes', () => {
    assert.deepEqual(splitCsvLine('a,"b,c",d'), ['a', 'b,c', 'd']);
    assert.deepEqual(splitCsvLine('"say ""hi""",,x'), ['say "hi"', '', 'x']);
    assert.deepEqual(splitCsvLine(''), ['']);
  });
});

describe('createInputParser', () => {
  it('normalizes one domain per line and keeps the line as given', () => {
    const parse = createInputParser();
    assert.deepEqual(parse('  Example.COM.\r', 4), {
      line: 4,
      input: '  Example.COM.',
      domain: 'example.com',
      error: null,
    });
    assert.equal(parse('Bücher.example', 5)?.domain, 'xn--bcher-kva.example');
  });

  it('skips blank lines and comments without a record', () => {
    const parse = createInputParser();
    assert.equal(parse('', 1), null);
    assert.equal(parse('   ', 2), null);
    assert.equal(parse('# a comment', 3), null);
  });

  it('reports an invalid name with its line number instead of throwing', () => {
    const r = createInputParser()('bad..name', 7);
    assert.equal(r?.domain, null);
    assert.equal(r?.line, 7);
    assert.match(r?.error ?? '', /label 2 is empty/);
  });

  it('reads a CSV column chosen by the header, case-insensitively', () => {
    const parse = createInputParser({ column: 'Domain' });
    assert.equal(parse('id,domain,note', 1), null);
    assert.deepEqual(parse('1,"example.org","a, b"', 2), {
      line: 2,
      input: '1,"example.org","a, b"',
      domain: 'example.org',
      error: null,
    });
    assert.match(parse('2', 3)?.error ?? '', /no column 2/);
  });

  it('throws MX_INVALID_ARGUMENT when the header lacks the column', () => {
    const parse = createInputParser({ column: 'host' });
    assert.throws(
      () => parse('id,domain', 1),
      (err) => isMxError(err, 'MX_INVALID_ARGUMENT'),
    );
  });
});
