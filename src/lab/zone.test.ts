import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { isMxError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import type { DnsRecord } from '../dns/types.js';
import { loadZoneFile, parseZone } from './zone.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones/', import.meta.url));

const SOA = '@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300';
const find = (records: DnsRecord[], name: string, type: string) =>
  records.filter((r) => r.name === name && r.type === type);

function throwsZone(text: string, code: ErrorCode, message: RegExp, opts: { origin?: string } = {}): void {
  assert.throws(
    () => parseZone(text, { file: 'test.zone', ...opts }),
    (err: unknown) => {
      assert.ok(isMxError(err, code), `expected ${code}, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('parseZone: RFC 1035 §5 syntax', () => {
  it('reads $ORIGIN, $TTL, @, relative and absolute names', () => {
    const zone = parseZone(
      [
        '$ORIGIN example.com.',
        '$TTL 300',
        SOA,
        '@ NS ns1',
        'ns1 A 127.0.1.53',
        'host.other.example.com. A 127.0.1.9',
      ].join('\n'),
    );
    assert.equal(zone.origin, 'example.com');
    assert.equal(zone.file, null);
    assert.equal(zone.soa.type, 'SOA');
    assert.deepEqual(find(zone.records, 'example.com', 'NS')[0]?.data, 'ns1.example.com');
    assert.deepEqual(find(zone.records, 'ns1.example.com', 'A')[0], {
      name: 'ns1.example.com',
      type: 'A',
      class: 'IN',
      ttl: 300,
      data: '127.0.1.53',
    });
    assert.equal(find(zone.records, 'host.other.example.com', 'A').length, 1);
    assert.equal(zone.records.length, 4, 'the SOA is among the records');
  });

  it('takes a blank owner as the previous owner (§5.1)', () => {
    const zone = parseZone(
      ['$ORIGIN example.com.', '$TTL 300', SOA, '  IN NS ns1', 'mail A 127.0.1.1', '\tAAAA ::1'].join('\n'),
    );
    assert.equal(find(zone.records, 'example.com', 'NS').length, 1);
    assert.equal(find(zone.records, 'mail.example.com', 'AAAA').length, 1);
  });

  it('skips comments, but not ";" inside quotes', () => {
    const zone = parseZone(
      ['; a comment line', '$ORIGIN example.com. ; trailing', '$TTL 300', SOA, '@ TXT "v=DMARC1; p=none" ; gone'].join(
        '\n',
      ),
    );
    const txt = find(zone.records, 'example.com', 'TXT')[0]?.data as Buffer[];
    assert.deepEqual(
      txt.map((b) => b.toString()),
      ['v=DMARC1; p=none'],
    );
  });

  it('joins lines inside parentheses, with comments inside', () => {
    const zone = parseZone(
      [
        '$ORIGIN example.com.',
        '$TTL 1h',
        '@ IN SOA ns1 hostmaster (',
        '   2024010101 ; serial',
        '   2h 1h',
        '   2w 5m )',
        '@ TXT ( "one"',
        '  "two" )',
      ].join('\n'),
    );
    assert.deepEqual(zone.soa.data, {
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 2024010101,
      refresh: 7200,
      retry: 3600,
      expire: 1209600,
      minimum: 300,
    });
    assert.equal((find(zone.records, 'example.com', 'TXT')[0]?.data as Buffer[]).length, 2);
  });

  it('reads quoted strings with escapes', () => {
    const zone = parseZone(['$ORIGIN x.test.', SOA, 'txt TXT "a \\"q\\" \\059 \\\\" unquoted\\ word'].join('\n'));
    const txt = find(zone.records, 'txt.x.test', 'TXT')[0]?.data as Buffer[];
    assert.deepEqual(
      txt.map((b) => b.toString()),
      ['a "q" ; \\', 'unquoted word'],
    );
  });

  it('accepts TTL and class in either order, class optional, TTL units', () => {
    const zone = parseZone(
      [
        '$ORIGIN x.test.',
        '$TTL 300',
        SOA,
        'a 1h IN A 127.0.0.1',
        'b IN 2d A 127.0.0.2',
        'c in a 127.0.0.3',
        'd 1w2d A 127.0.0.4',
      ].join('\n'),
    );
    const ttl = (n: string) => find(zone.records, `${n}.x.test`, 'A')[0]?.ttl;
    assert.deepEqual([ttl('a'), ttl('b'), ttl('c'), ttl('d')], [3600, 172800, 300, 777600]);
  });

  it('takes the TTL from $TTL, else the defaultTtl option, else 3600 (Knot default-ttl)', () => {
    const text = ['$ORIGIN x.test.', SOA, 'a A 127.0.0.1', '$TTL 60', 'b A 127.0.0.2'].join('\n');
    const ttls = (z: ReturnType<typeof parseZone>) => z.records.map((r) => r.ttl);
    assert.deepEqual(ttls(parseZone(text)), [3600, 3600, 60]);
    assert.deepEqual(ttls(parseZone(text, { defaultTtl: 120 })), [120, 120, 60]);
  });

  it('takes the origin from the option, else $ORIGIN, else the SOA owner', () => {
    assert.equal(parseZone([SOA, 'www A 127.0.0.1'].join('\n'), { origin: 'Opt.Test.' }).origin, 'opt.test');
    const bySoa = parseZone(['soa.test. IN SOA ns1 hostmaster 1 2 3 4 5', 'www A 127.0.0.1'].join('\n'));
    assert.equal(bySoa.origin, 'soa.test');
    assert.equal(find(bySoa.records, 'www.soa.test', 'A').length, 1);
    assert.equal(bySoa.soa.data && (bySoa.soa.data as { mname: string }).mname, 'ns1.soa.test');
    const sub = parseZone(['$ORIGIN x.test.', SOA, '$ORIGIN sub', 'www A 127.0.0.1'].join('\n'));
    assert.equal(sub.origin, 'x.test', 'a later $ORIGIN only changes how names are read');
    assert.equal(find(sub.records, 'www.sub.x.test', 'A').length, 1);
  });

  it('accepts wildcard owners (RFC 4592) and lowercases names', () => {
    const zone = parseZone(['$ORIGIN X.Test.', SOA, '*.Wild A 127.0.0.1', 'MAIL MX 10 Host'].join('\n'));
    assert.equal(find(zone.records, '*.wild.x.test', 'A').length, 1);
    assert.deepEqual(find(zone.records, 'mail.x.test', 'MX')[0]?.data, { preference: 10, exchange: 'host.x.test' });
  });

  it('reads every supported type', () => {
    const zone = parseZone(
      [
        '$ORIGIN x.test.',
        SOA,
        '@ NS ns1',
        '@ MX 0 .',
        'ns1 A 127.0.0.1',
        'ns1 AAAA ::1',
        'www CNAME ns1',
        '1 PTR ns1',
        '_sip._tcp SRV 0 5 5060 ns1',
        '@ CAA 0 issue "ca.example"',
        '_25._tcp.ns1 TLSA 3 1 1 0C72',
        '@ TXT "v=spf1 -all"',
      ].join('\n'),
    );
    assert.deepEqual([...new Set(zone.records.map((r) => r.type))].sort(), [
      'A',
      'AAAA',
      'CAA',
      'CNAME',
      'MX',
      'NS',
      'PTR',
      'SOA',
      'SRV',
      'TLSA',
      'TXT',
    ]);
    assert.deepEqual(find(zone.records, 'x.test', 'MX')[0]?.data, { preference: 0, exchange: '' });
  });
});

describe('parseZone: errors name the file, the line and the token', () => {
  const head = ['$ORIGIN x.test.', '$TTL 300', SOA]; // lines 1-3

  it('an unknown type', () => {
    throwsZone(
      [...head, 'a HINFO "cpu" "os"'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: unknown record type "HINFO"/,
    );
    throwsZone([...head, 'a IM A 1.2.3.4'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: unknown record type "IM"/);
  });

  it('bad RDATA, with the type and owner', () => {
    throwsZone(
      [...head, '', 'mail A 127.0.0.300'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:5: A record for mail\.x\.test: "127\.0\.0\.300" is not an IPv4 address$/,
    );
    throwsZone(
      [...head, 'mail MX 99999 host'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: MX record .* out of range/,
    );
    throwsZone([...head, 'mail AAAA nope'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: AAAA .*not an IPv6 address/);
  });

  it('a record spread over lines is reported where its RDATA starts', () => {
    throwsZone(
      ['$ORIGIN x.test.', '@ SOA ns1 hostmaster (', '  1 2 3', '  4 5 6 )'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:2: SOA record for x\.test: SOA takes .* unexpected "6"/,
    );
  });

  it('unbalanced parentheses and quotes', () => {
    throwsZone(
      [...head, 'a TXT ( "x"', 'b A 1.2.3.4'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: "\(" is never closed/,
    );
    throwsZone([...head, 'a A 1.2.3.4 )'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: "\)" without a matching "\("/);
    throwsZone([...head, 'a TXT ( ( "x" ) )'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: "\(" inside parentheses/);
    throwsZone(
      [...head, 'a TXT "open', 'b A 1.2.3.4'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: quoted string is not closed/,
    );
  });

  it('directives: $INCLUDE is refused, unknown ones named, wrong arguments', () => {
    throwsZone(
      [...head, '$INCLUDE other.zone'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: \$INCLUDE is not supported/,
    );
    throwsZone(
      [...head, '$GENERATE 1-5 a$ A 1.2.3.$'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: unknown directive "\$GENERATE"/,
    );
    throwsZone(['$TTL 1x', SOA].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:1: "1x" is not a TTL/);
    throwsZone(['$TTL 2147483648', SOA].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:1: TTL 2147483648 is over/);
    throwsZone(['$ORIGIN', SOA].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:1: \$ORIGIN takes one domain name/);
  });

  it('owners: none for the first record, relative without an origin, invalid names', () => {
    throwsZone(
      ['  A 127.0.0.1', '$ORIGIN x.test.', SOA].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:1: the first record has no owner/,
    );
    throwsZone(
      ['www A 127.0.0.1', 'x.test. SOA ns1 h 1 2 3 4 5'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:1: owner "www" is relative but no origin/,
    );
    throwsZone(
      [...head, `${'a'.repeat(64)} A 127.0.0.1`].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: owner "a{64}".*at most 63/,
    );
    throwsZone([...head, 'a b'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: unknown record type "b"/);
    throwsZone([...head, 'a 300'].join('\n'), 'MX_ZONE_SYNTAX', /^test\.zone:4: record for a\.x\.test has no type/);
  });

  it('a class other than IN', () => {
    throwsZone(
      [...head, 'a CH A 127.0.0.1'].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: class CH is not supported \(only IN\)/,
    );
  });

  it('SOA: none, two, or not at the origin', () => {
    throwsZone(
      ['$ORIGIN x.test.', 'a A 127.0.0.1', ''].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:3: no SOA record at the zone origin x\.test/,
    );
    throwsZone(
      [...head, SOA].join('\n'),
      'MX_ZONE_SYNTAX',
      /^test\.zone:4: a second SOA record \(the first is on line 3\)/,
    );
    throwsZone(
      [...head, 'sub SOA ns1 h 1 2 3 4 5'].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:4: SOA record at sub\.x\.test is not at the zone origin/,
    );
    throwsZone(['a A 127.0.0.1'].join('\n'), 'MX_ZONE_SYNTAX', /relative but no origin/);
  });

  it('a CNAME beside other data, or two CNAMEs (RFC 1034 §3.6.2, RFC 2181 §10.1)', () => {
    throwsZone(
      [...head, 'www A 127.0.0.1', 'www CNAME host'].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:5: www\.x\.test has a CNAME \(line 5\) and other data \(A on line 4\)/,
    );
    throwsZone(
      [...head, 'www CNAME host', 'www MX 10 host'].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:5: www\.x\.test has a CNAME \(line 4\) and other data \(MX on line 5\)/,
    );
    throwsZone([...head, '@ CNAME host'].join('\n'), 'MX_ZONE_CONFLICT', /^test\.zone:4: x\.test has a CNAME/);
    throwsZone(
      [...head, 'w CNAME a', 'w CNAME b'].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:5: w\.x\.test has a second CNAME/,
    );
    assert.doesNotThrow(
      () => parseZone([...head, 'w CNAME a', 'w CNAME a'].join('\n')),
      'the same CNAME twice is one record',
    );
  });

  it('a record outside the origin', () => {
    throwsZone(
      [...head, 'other.test. A 127.0.0.1'].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:4: other\.test is outside the zone x\.test/,
    );
    throwsZone(
      ['$ORIGIN x.test.', SOA].join('\n'),
      'MX_ZONE_CONFLICT',
      /^test\.zone:2: x\.test is outside the zone y\.test/,
      {
        origin: 'y.test',
      },
    );
  });

  it('without a file name, errors say <zone>', () => {
    assert.throws(() => parseZone('$ORIGIN x.test.\nbad A 1'), /^MxError: <zone>:2: /);
  });
});

describe('example zones', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.zone'));

  it('every file parses, is named after its origin, and lives on loopback', async () => {
    assert.ok(files.length >= 8);
    for (const f of files) {
      const zone = await loadZoneFile(`${EXAMPLES}${f}`);
      assert.equal(`${zone.origin}.zone`, f);
      assert.equal(zone.file, `${EXAMPLES}${f}`);
      const ns = find(zone.records, zone.origin, 'NS').map((r) => r.data);
      assert.deepEqual(ns, [`ns1.${zone.origin}`], `${f}: NS ns1`);
      assert.equal(find(zone.records, `ns1.${zone.origin}`, 'A').length, 1, `${f}: ns1 has an A record`);
      for (const r of zone.records) {
        if (r.type === 'A') assert.match(String(r.data), /^127\./, `${f}: ${r.name}`);
        if (r.type === 'AAAA') assert.equal(r.data, '::1', `${f}: ${r.name}`);
      }
    }
  });

  it('carry the primer’s MX sets', async () => {
    const mx = async (origin: string) =>
      find((await loadZoneFile(`${EXAMPLES}${origin}.zone`)).records, origin, 'MX').map((r) => {
        const d = r.data as { preference: number; exchange: string };
        return `${d.preference} ${d.exchange}`;
      });
    assert.deepEqual(await mx('example.com'), ['10 mail1.example.com', '20 mail2.example.com', '30 mail3.example.com']);
    assert.deepEqual(await mx('roundrobin.example'), [
      '10 mail-us.roundrobin.example',
      '10 mail-eu.roundrobin.example',
      '10 mail-asia.roundrobin.example',
    ]);
    assert.deepEqual(await mx('workspace.example'), [
      '1 aspmx.l.google.com',
      '5 alt1.aspmx.l.google.com',
      '5 alt2.aspmx.l.google.com',
      '10 alt3.aspmx.l.google.com',
      '10 alt4.aspmx.l.google.com',
    ]);
    assert.deepEqual(await mx('m365.example'), ['0 m365-example.mail.protection.outlook.com']);
    assert.deepEqual(await mx('nullmx.example'), ['0 ']);
    assert.deepEqual(await mx('implicit.example'), []);
  });
});
