import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { isMxError } from '../core/errors.js';
import {
  decodeCharString,
  formatRdata,
  formatRecord,
  parseNameToken,
  parseRdata,
  parseTtl,
  quoteCharString,
  splitTokens,
} from './presentation.js';

const ORIGIN = 'example.com';
const parse = (type: string, text: string, origin: string | null = ORIGIN) =>
  parseRdata(type, splitTokens(text), origin);

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isMxError(err, 'MX_INVALID_ARGUMENT') && pattern.test(err.message));
}

describe('parseRdata (RFC 1035 §5.1 presentation → dns-packet shapes)', () => {
  it('reads A and AAAA, AAAA in the form dns-packet decodes to', () => {
    assert.equal(parse('A', '127.0.1.1'), '127.0.1.1');
    assert.equal(parse('AAAA', '0:0:0:0:0:0:0:1'), '::1');
    assert.equal(parse('AAAA', '2001:DB8::0:1'), '2001:db8::1');
  });

  it('resolves relative names against the origin, @ as the origin, absolute names as written (§5.1)', () => {
    assert.equal(parse('CNAME', 'www'), 'www.example.com');
    assert.equal(parse('NS', '@'), 'example.com');
    assert.equal(parse('PTR', 'Host.Example.NET.'), 'host.example.net');
    assert.deepEqual(parse('MX', '10 mail'), { preference: 10, exchange: 'mail.example.com' });
  });

  it('reads the null MX of RFC 7505 with the root as exchange ""', () => {
    assert.deepEqual(parse('MX', '0 .'), { preference: 0, exchange: '' });
  });

  it('reads SOA with TTL units in the timers and an escaped dot in the RNAME local part', () => {
    assert.deepEqual(parse('SOA', 'ns1 john\\.doe 2024010101 2h 1h 2w 5m'), {
      mname: 'ns1.example.com',
      rname: 'john\\.doe.example.com',
      serial: 2024010101,
      refresh: 7200,
      retry: 3600,
      expire: 1209600,
      minimum: 300,
    });
  });

  it('reads TXT as one Buffer per character-string, with \\" and \\DDD escapes (RFC 1035 §5.1)', () => {
    const txt = parse('TXT', '"v=spf1 mx -all" "two \\"quoted\\"" "\\200\\001x" bare\\;semi') as Buffer[];
    assert.deepEqual(
      txt.map((b) => b.toString('latin1')),
      ['v=spf1 mx -all', 'two "quoted"', '\xc8\x01x', 'bare;semi'],
    );
  });

  it('reads SRV, CAA and TLSA', () => {
    assert.deepEqual(parse('SRV', '0 5 25 mail'), { priority: 0, weight: 5, port: 25, target: 'mail.example.com' });
    assert.deepEqual(parse('CAA', '128 Issue "ca.example; account=1"'), {
      flags: 128,
      tag: 'issue',
      value: 'ca.example; account=1',
      issuerCritical: true,
    });
    assert.deepEqual(parse('TLSA', '3 1 1 0C72AC70 b745ac19'), {
      usage: 3,
      selector: 1,
      matchingType: 1,
      certificate: Buffer.from('0c72ac70b745ac19', 'hex'),
    });
  });

  it('gives the shapes dns-packet decodes, so parsed and received records compare equal', () => {
    const cases: Array<[string, string]> = [
      ['A', '127.0.0.1'],
      ['AAAA', '::1'],
      ['MX', '10 mail'],
      ['NS', 'ns1'],
      ['TXT', '"a" "b c"'],
      ['SOA', 'ns1 hostmaster 1 2 3 4 5'],
      ['SRV', '1 2 3 target'],
      ['CAA', '0 issue "ca.example"'],
      ['TLSA', '3 1 1 abcdef'],
    ];
    for (const [type, text] of cases) {
      const data = parse(type, text);
      const wire = dnsPacket.encode({
        answers: [{ name: 'x.example.com', type, data } as dnsPacket.Answer],
      });
      const decoded = (dnsPacket.decode(wire).answers?.[0] as { data: unknown }).data;
      assert.deepEqual(decoded, data, type);
    }
  });

  it('refuses bad data with a message naming the field', () => {
    throwsInvalid(() => parse('A', '127.0.0.256'), /"127\.0\.0\.256" is not an IPv4 address/);
    throwsInvalid(() => parse('A', '::1'), /not an IPv4 address/);
    throwsInvalid(() => parse('AAAA', '127.0.0.1'), /not an IPv6 address/);
    throwsInvalid(() => parse('AAAA', '::1::2'), /not an IPv6 address/);
    throwsInvalid(() => parse('MX', '70000 mail'), /MX preference 70000 is out of range \(0-65535\)/);
    throwsInvalid(() => parse('MX', 'ten mail'), /MX preference "ten" is not a number/);
    throwsInvalid(() => parse('MX', '10'), /MX needs a preference and an exchange; got 1 field/);
    throwsInvalid(() => parse('A', '127.0.0.1 127.0.0.2'), /unexpected "127\.0\.0\.2"/);
    throwsInvalid(() => parse('SOA', 'ns1 hostmaster 1 2 3'), /SOA needs MNAME RNAME SERIAL/);
    throwsInvalid(() => parse('SOA', 'ns1 hostmaster 4294967296 2 3 4 5'), /SOA serial .* out of range/);
    throwsInvalid(() => parse('TXT', ''), /TXT needs at least one character-string/);
    throwsInvalid(() => parse('TXT', `"${'x'.repeat(256)}"`), /256 octets \(at most 255\)/);
    throwsInvalid(() => parse('TLSA', '3 1 1 abc'), /TLSA data "abc" is not hex/);
    throwsInvalid(() => parse('CAA', '0 is-sue "x"'), /CAA tag "is-sue"/);
    throwsInvalid(() => parse('SRV', '0 5 99999 mail'), /SRV port 99999 is out of range/);
    throwsInvalid(() => parse('CNAME', 'bad_label!'), /CNAME target "bad_label!"/);
    throwsInvalid(() => parse('CNAME', 'www', null), /relative but no origin is known/);
    throwsInvalid(() => parse('HINFO', '"cpu" "os"'), /record type "HINFO" is not supported/);
  });
});

describe('formatRdata (as dig prints)', () => {
  it('prints names fully qualified, the root as "."', () => {
    assert.equal(formatRdata('MX', { preference: 0, exchange: '' }), '0 .');
    assert.equal(formatRdata('MX', { preference: 0, exchange: '.' }), '0 .'); // as dns-packet decodes it
    assert.equal(formatRdata('MX', { preference: 10, exchange: 'mail.example.com' }), '10 mail.example.com.');
    assert.equal(formatRdata('CNAME', 'Web.Example.com.'), 'Web.Example.com.');
    assert.equal(
      formatRdata('SOA', { mname: 'ns1.x', rname: 'h.x', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 }),
      'ns1.x. h.x. 1 2 3 4 5',
    );
    assert.equal(formatRdata('SRV', { priority: 0, weight: 5, port: 25, target: 'mail.x' }), '0 5 25 mail.x.');
  });

  it('prints TXT as quoted strings with \\" \\\\ and \\DDD escapes', () => {
    const data = [Buffer.from('one'), Buffer.from('two "q" \\'), Buffer.from([0xc8, 0x01, 0x62])];
    assert.equal(formatRdata('TXT', data), '"one" "two \\"q\\" \\\\" "\\200\\001b"');
    assert.equal(formatRdata('TXT', 'plain'), '"plain"');
    assert.equal(quoteCharString('semi;colon'), '"semi;colon"');
  });

  it('prints CAA and TLSA', () => {
    assert.equal(formatRdata('CAA', { flags: 0, tag: 'issue', value: 'ca.example' }), '0 issue "ca.example"');
    assert.equal(
      formatRdata('TLSA', { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('0c72', 'hex') }),
      '3 1 1 0C72',
    );
  });

  it('prints other types in the RFC 3597 §5 generic form, or as JSON', () => {
    assert.equal(formatRdata('UNKNOWN_65280', Buffer.from([1, 2, 0xab])), '\\# 3 0102AB');
    assert.equal(formatRdata('NULL', Buffer.alloc(0)), '\\# 0');
    assert.equal(formatRdata('HINFO', { cpu: 'x86', os: 'linux' }), '{"cpu":"x86","os":"linux"}');
    assert.equal(formatRdata('DS', { keyTag: 1, digest: Buffer.from([0xab]) }), '{"keyTag":1,"digest":"ab"}');
  });

  it('is the inverse of parseRdata for every supported type', () => {
    const cases: Array<[string, string]> = [
      ['A', '127.0.0.1'],
      ['AAAA', '::1'],
      ['MX', '0 .'],
      ['MX', '10 mail.example.com.'],
      ['NS', 'ns1.example.com.'],
      ['CNAME', 'www.example.com.'],
      ['PTR', 'host.example.com.'],
      ['TXT', '"a \\"b\\"" "\\200\\255" "semi;colon"'],
      ['SOA', 'ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300'],
      ['SRV', '0 5 25 mail.example.com.'],
      ['CAA', '0 issue "ca.example"'],
      ['TLSA', '3 1 1 0C72AC70'],
    ];
    for (const [type, text] of cases) {
      const data = parse(type, text);
      assert.equal(formatRdata(type, data), text, `${type} prints back`);
      assert.deepEqual(parse(type, formatRdata(type, data)), data, `${type} parses back`);
    }
  });

  it('formatRecord writes a zone-file line', () => {
    assert.equal(
      formatRecord({ name: 'example.com', type: 'MX', class: 'IN', ttl: 300, data: { preference: 0, exchange: '' } }),
      'example.com. 300 IN MX 0 .',
    );
  });
});

describe('tokens and fields', () => {
  it('splits on blanks, keeping quoted strings and escapes whole', () => {
    assert.deepEqual(splitTokens(' 10  "a b"\tc\\ d "x"y '), ['10', '"a b"', 'c\\ d', '"x"', 'y']);
    throwsInvalid(() => splitTokens('"open'), /unterminated quoted string/);
  });

  it('decodes character-strings', () => {
    assert.deepEqual(decodeCharString('"a\\"b\\\\c\\065"'), Buffer.from('a"b\\cA'));
    throwsInvalid(() => decodeCharString('"\\300"'), /over 255/);
  });

  it('parses TTLs with units, up to 2^31-1 (RFC 2181 §8)', () => {
    assert.equal(parseTtl('300'), 300);
    assert.equal(parseTtl('1h30m'), 5400);
    assert.equal(parseTtl('1W2D'), 777600);
    assert.equal(parseTtl('2147483647'), 2147483647);
    throwsInvalid(() => parseTtl('2147483648'), /over 2147483647/);
    throwsInvalid(() => parseTtl('1x'), /is not a TTL/);
  });

  it('parses name tokens, wildcards only when allowed', () => {
    assert.equal(parseNameToken('*.wild', 'example.com', 'owner', { allowWildcard: true }), '*.wild.example.com');
    throwsInvalid(() => parseNameToken('*.wild', 'example.com'), /name "\*\.wild"/);
    assert.equal(parseNameToken('x', ''), 'x');
    assert.equal(parseNameToken('.', null), '');
  });
});
