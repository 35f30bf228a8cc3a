import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseZone } from '../lab/zone.js';
import { recordEntries } from './lines.js';

describe('recordEntries (RFC 1035 §5.1 entries with their lines)', () => {
  const text = [
    '; a comment line', // 1
    '$ORIGIN l.example.', // 2
    '$TTL 300', // 3
    '@ IN SOA ns1 hostmaster ( ; opens', // 4
    '   1 7200 3600', // 5
    '   1209600 300 )', // 6
    '  IN NS ns1', // 7
    '', // 8
    'ns1 A 192.0.2.1 ; trailing comment', // 9
    '@ TXT "a ; not a comment" "and \\" a quote"', // 10
    '@ TXT ( "joined"', // 11
    '  "over lines" )', // 12
    '@ MX 10 mail', // 13
  ].join('\n');

  it('gives one entry per record, in parseZone order, with the line each starts on', () => {
    const entries = recordEntries(text);
    const zone = parseZone(text);
    assert.equal(entries.length, zone.records.length);
    assert.deepEqual(
      entries.map((e) => e.line),
      [4, 7, 9, 10, 11, 13],
    );
    assert.deepEqual(
      entries.map((e) => e.blankOwner),
      [false, true, false, false, false, false],
    );
  });

  it('keeps tokens as written: quotes, escapes, the last token of an MX', () => {
    const entries = recordEntries(text);
    assert.deepEqual(entries[3]!.tokens, ['@', 'TXT', '"a ; not a comment"', '"and \\" a quote"']);
    assert.deepEqual(entries[4]!.tokens, ['@', 'TXT', '"joined"', '"over lines"']);
    assert.equal(entries[5]!.tokens.at(-1), 'mail');
  });

  it('handles CRLF line ends and a last line without a newline', () => {
    const entries = recordEntries('$ORIGIN a.example.\r\n@ SOA ns h 1 2 3 4 5\r\n@ NS ns');
    assert.deepEqual(
      entries.map((e) => e.line),
      [2, 3],
    );
  });
});
