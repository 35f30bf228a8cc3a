import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { isMxError } from '../core/errors.js';
import { createAuthority, replyRecords, respond } from './authority.js';
import { parseZone } from './zone.js';

const BIG = Array.from({ length: 40 }, (_, i) => `big MX 10 mx${String(i + 1).padStart(2, '0')}.big`);
const BIG_A = Array.from({ length: 40 }, (_, i) => `mx${String(i + 1).padStart(2, '0')}.big A 127.0.13.${i + 1}`);

const PARENT = parseZone(
  [
    '$ORIGIN auth.test.',
    '$TTL 3600',
    '@ SOA ns1 hostmaster 1 7200 3600 1209600 300',
    '@ NS ns1',
    '@ NS ns.elsewhere.example.',
    '@ MX 30 alias',
    '@ MX 10 mail',
    '@ MX 20 mail.elsewhere.example.',
    'ns1 A 127.0.12.1',
    'mail A 127.0.12.2',
    'mail AAAA ::1',
    'alias CNAME mail',
    'www CNAME web',
    'web CNAME host',
    'host A 127.0.12.3',
    'out CNAME www.example.org.',
    'dangling CNAME nowhere',
    'loop1 CNAME loop2',
    'loop2 CNAME loop1',
    '*.wild A 127.0.12.4',
    'x.wild TXT "exists"',
    'a.b.ent A 127.0.12.5',
    'sub NS ns.sub',
    'sub NS ns1',
    'ns.sub A 127.0.12.6',
    'child NS ns.child',
    'ns.child A 127.0.12.7',
    'bigalias CNAME big',
    'order 100 A 127.0.12.9',
    'order 200 A 127.0.12.8',
    ...BIG,
    ...BIG_A,
  ].join('\n'),
  { file: 'auth.test.zone' },
);
const CHILD = parseZone(
  [
    '$ORIGIN child.auth.test.',
    '$TTL 60',
    '@ SOA ns hostmaster 1 2 3 4 600',
    '@ NS ns',
    'ns A 127.0.12.7',
    '@ A 127.0.12.10',
  ].join('\n'),
);
const authority = createAuthority([PARENT, CHILD]);

interface Ask {
  edns?: number | false;
  dnssecOk?: boolean;
  ednsVersion?: number;
  rd?: boolean;
  flags?: number;
  opcode?: number;
  klass?: dnsPacket.RecordClass;
  transport?: 'udp' | 'tcp';
}

function query(name: string, type: string, o: Ask = {}): Buffer {
  const opt =
    o.edns === false || o.edns === undefined
      ? []
      : [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: o.edns,
            flags: o.dnssecOk ? 0x8000 : 0,
            ednsVersion: o.ednsVersion ?? 0,
            options: [],
          } as unknown as dnsPacket.Answer,
        ];
  return dnsPacket.encode({
    type: 'query',
    id: 77,
    flags: (o.flags ?? 0) | (o.rd ? dnsPacket.RECURSION_DESIRED : 0) | ((o.opcode ?? 0) << 11),
    questions: [{ name, type: type as dnsPacket.RecordType, class: o.klass ?? 'IN' }],
    additionals: opt,
  });
}

function ask(name: string, type: string, o: Ask = {}) {
  const reply = respond(authority, query(name, type, o), { transport: o.transport ?? 'udp' });
  assert.equal(reply.kind, 'reply');
  const bytes = reply.bytes;
  const msg = dnsPacket.decode(bytes);
  const show = (rrs: dnsPacket.Answer[] | undefined) =>
    (rrs ?? [])
      .filter((r) => r.type !== 'OPT')
      .map((r) => {
        const data = (r as { data: unknown }).data;
        const d =
          typeof data === 'object' && data !== null && !Buffer.isBuffer(data) ? JSON.stringify(data) : String(data);
        return `${r.name} ${r.ttl ?? ''} ${r.type} ${d}`;
      });
  const opt = (msg.additionals ?? []).find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
  return {
    reply,
    msg,
    bytes,
    rcode: reply.rcode,
    aa: msg.flag_aa,
    tc: msg.flag_tc,
    answer: show(msg.answers),
    authority: show(msg.authorities),
    additional: show(msg.additionals),
    opt,
  };
}

const SOA_NEG =
  'auth.test 300 SOA {"mname":"ns1.auth.test","rname":"hostmaster.auth.test","serial":1,"refresh":7200,"retry":3600,"expire":1209600,"minimum":300}';

describe('respond: authoritative answers (RFC 1034 §4.3.2)', () => {
  it('sets AA, copies RD and the QNAME’s case, clears AD/CD, never sets RA', () => {
    const r = ask('Host.AUTH.test', 'A', { rd: true, flags: dnsPacket.AUTHENTIC_DATA | dnsPacket.CHECKING_DISABLED });
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.aa, true);
    assert.equal(r.msg.flag_rd, true);
    assert.equal(r.msg.flag_ra, false);
    assert.equal(r.msg.flag_ad, false);
    assert.equal(r.msg.flag_cd, false);
    assert.equal(r.msg.id, 77);
    assert.deepEqual(r.msg.questions, [{ name: 'Host.AUTH.test', type: 'A', class: 'IN' }]);
    assert.deepEqual(r.answer, ['Host.AUTH.test 3600 A 127.0.12.3']);
    assert.deepEqual(r.authority, [], 'no NS in authority for a positive answer (as Knot 3)');
  });

  it('NXDOMAIN carries the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3, §5)', () => {
    const r = ask('nope.auth.test', 'A');
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(r.aa, true);
    assert.deepEqual(r.answer, []);
    assert.deepEqual(r.authority, [SOA_NEG]);
    const child = ask('nope.child.auth.test', 'A');
    assert.equal(child.authority[0]?.split(' ')[1], '60', 'SOA TTL 60 below MINIMUM 600');
  });

  it('NODATA for an existing name without the type, and for an empty non-terminal (RFC 8020)', () => {
    for (const [name, type] of [
      ['mail.auth.test', 'TXT'],
      ['b.ent.auth.test', 'A'],
      ['ent.auth.test', 'MX'],
    ] as const) {
      const r = ask(name, type);
      assert.equal(r.rcode, 'NOERROR', name);
      assert.equal(r.aa, true);
      assert.deepEqual(r.answer, []);
      assert.deepEqual(r.authority, [SOA_NEG], name);
    }
  });

  it('answers the apex NS with in-zone glue in the additional section', () => {
    const r = ask('auth.test', 'NS');
    // RDATA order: the first label's length octet decides ("ns" before "ns1").
    assert.deepEqual(r.answer, ['auth.test 3600 NS ns.elsewhere.example', 'auth.test 3600 NS ns1.auth.test']);
    assert.deepEqual(r.additional, ['ns1.auth.test 3600 A 127.0.12.1']);
  });

  it('adds A/AAAA of in-zone MX exchanges, not of aliases or names elsewhere (RFC 1035 §3.3.9)', () => {
    const r = ask('auth.test', 'MX');
    assert.deepEqual(r.answer, [
      'auth.test 3600 MX {"preference":10,"exchange":"mail.auth.test"}',
      'auth.test 3600 MX {"preference":20,"exchange":"mail.elsewhere.example"}',
      'auth.test 3600 MX {"preference":30,"exchange":"alias.auth.test"}',
    ]);
    assert.deepEqual(r.additional, ['mail.auth.test 3600 A 127.0.12.2', 'mail.auth.test 3600 AAAA ::1']);
  });

  it('orders an RRset by RDATA and gives it the last record’s TTL (as Knot’s zone loader)', () => {
    assert.deepEqual(ask('order.auth.test', 'A').answer, [
      'order.auth.test 200 A 127.0.12.8',
      'order.auth.test 200 A 127.0.12.9',
    ]);
  });

  it('answers ANY with one RRset, the lowest type (RFC 8482 §4.1)', () => {
    assert.deepEqual(ask('mail.auth.test', 'ANY').answer, ['mail.auth.test 3600 A 127.0.12.2']);
    assert.deepEqual(ask('www.auth.test', 'ANY').answer, ['www.auth.test 3600 CNAME web.auth.test']);
  });

  it('is pure: the same query gives the same octets', () => {
    const q = query('auth.test', 'MX', { edns: 1232 });
    const one = respond(authority, q, { transport: 'udp' });
    const two = respond(authority, q, { transport: 'udp' });
    assert.deepEqual(one, two);
  });

  it('lists what it wrote, for logs', () => {
    const r = ask('auth.test', 'MX');
    assert.deepEqual(
      replyRecords(r.reply, 'additional').map((x) => `${x.name} ${x.type}`),
      ['mail.auth.test A', 'mail.auth.test AAAA'],
    );
  });
});

describe('respond: CNAME (RFC 1034 §3.6.2, RFC 6604)', () => {
  it('chases a chain inside the zone', () => {
    const r = ask('www.auth.test', 'A');
    assert.deepEqual(r.answer, [
      'www.auth.test 3600 CNAME web.auth.test',
      'web.auth.test 3600 CNAME host.auth.test',
      'host.auth.test 3600 A 127.0.12.3',
    ]);
    assert.equal(r.aa, true);
  });

  it('answers a CNAME query with the CNAME alone', () => {
    assert.deepEqual(ask('www.auth.test', 'CNAME').answer, ['www.auth.test 3600 CNAME web.auth.test']);
  });

  it('ends with NODATA when the target lacks the type', () => {
    const r = ask('www.auth.test', 'MX');
    assert.equal(r.answer.length, 2);
    assert.deepEqual(r.authority, [SOA_NEG]);
  });

  it('stops where the target leaves the zone', () => {
    const r = ask('out.auth.test', 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answer, ['out.auth.test 3600 CNAME www.example.org']);
    assert.deepEqual(r.authority, []);
  });

  it('gives NXDOMAIN, with the CNAME, when the target does not exist (RFC 6604 §2)', () => {
    const r = ask('dangling.auth.test', 'A');
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.deepEqual(r.answer, ['dangling.auth.test 3600 CNAME nowhere.auth.test']);
    assert.deepEqual(r.authority, [SOA_NEG]);
  });

  it('stops a loop after each CNAME once', () => {
    const r = ask('loop1.auth.test', 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answer, [
      'loop1.auth.test 3600 CNAME loop2.auth.test',
      'loop2.auth.test 3600 CNAME loop1.auth.test',
    ]);
  });
});

describe('respond: wildcards (RFC 4592)', () => {
  it('synthesizes records with the name asked, at any depth below the wildcard', () => {
    assert.deepEqual(ask('foo.wild.auth.test', 'A').answer, ['foo.wild.auth.test 3600 A 127.0.12.4']);
    assert.deepEqual(ask('a.b.wild.auth.test', 'A').answer, ['a.b.wild.auth.test 3600 A 127.0.12.4']);
  });

  it('gives NODATA for a type the wildcard lacks', () => {
    const r = ask('foo.wild.auth.test', 'MX');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.authority, [SOA_NEG]);
  });

  it('does not cover names that exist, nor the wildcard’s parent (§2.2.1)', () => {
    assert.deepEqual(ask('x.wild.auth.test', 'A').answer, []);
    assert.deepEqual(ask('wild.auth.test', 'A').authority, [SOA_NEG]);
  });
});

describe('respond: delegations (RFC 1034 §4.2.1, §4.3.2 step 3b)', () => {
  it('refers names at and below a cut: no AA, NS in authority, glue in additional', () => {
    for (const [name, type] of [
      ['x.sub.auth.test', 'A'],
      ['sub.auth.test', 'NS'],
      ['ns.sub.auth.test', 'A'],
      ['deep.x.sub.auth.test', 'MX'],
    ] as const) {
      const r = ask(name, type);
      assert.equal(r.rcode, 'NOERROR', name);
      assert.equal(r.aa, false, name);
      assert.deepEqual(r.answer, [], name);
      assert.deepEqual(
        r.authority,
        ['sub.auth.test 3600 NS ns.sub.auth.test', 'sub.auth.test 3600 NS ns1.auth.test'],
        name,
      );
      assert.deepEqual(r.additional, ['ns.sub.auth.test 3600 A 127.0.12.6', 'ns1.auth.test 3600 A 127.0.12.1'], name);
    }
  });

  it('answers DS at the cut from the parent (RFC 4035 §3.1.4.1)', () => {
    const r = ask('sub.auth.test', 'DS');
    assert.equal(r.aa, true);
    assert.deepEqual(r.authority, [SOA_NEG]);
  });

  it('answers from the most specific zone it serves, DS at a child apex from the parent', () => {
    const child = ask('child.auth.test', 'A');
    assert.equal(child.aa, true);
    assert.deepEqual(child.answer, ['child.auth.test 60 A 127.0.12.10']);
    const ds = ask('child.auth.test', 'DS');
    assert.equal(ds.aa, true);
    assert.deepEqual(ds.authority, [SOA_NEG], 'the parent’s SOA');
  });
});

describe('respond: refusals and errors', () => {
  it('REFUSED without AA outside every zone, with EDE 20 when the query has EDNS (RFC 8914 §4.21)', () => {
    const plain = ask('example.org', 'A', { rd: true });
    assert.equal(plain.rcode, 'REFUSED');
    assert.equal(plain.aa, false);
    assert.equal(plain.msg.flag_rd, true);
    assert.equal(plain.opt, undefined);
    const edns = ask('example.org', 'A', { edns: 1232 });
    assert.deepEqual(edns.opt?.options, [{ code: 15, type: 'OPTION_15', data: Buffer.from([0, 20]) }]);
    assert.equal(ask('test', 'SOA').rcode, 'REFUSED', 'a parent of the zone is not ours');
    assert.equal(ask('auth.test', 'SOA', { klass: 'CH' }).rcode, 'REFUSED', 'class CH');
  });

  it('FORMERR for a query without a question, echoing RD', () => {
    const bytes = dnsPacket.encode({ type: 'query', id: 5, flags: dnsPacket.RECURSION_DESIRED, questions: [] });
    const reply = respond(authority, bytes, { transport: 'udp' });
    assert.equal(reply.kind === 'reply' && reply.rcode, 'FORMERR');
    const msg = dnsPacket.decode((reply as { bytes: Buffer }).bytes);
    assert.equal(msg.flags, dnsPacket.RECURSION_DESIRED | 1);
    assert.equal((reply as { malformed: boolean }).malformed, false);
  });

  it('FORMERR, marked malformed, for junk after the question', () => {
    const reply = respond(authority, Buffer.concat([query('auth.test', 'A'), Buffer.from([1])]), { transport: 'tcp' });
    assert.equal(reply.kind === 'reply' && reply.rcode, 'FORMERR');
    assert.equal((reply as { malformed: boolean }).malformed, true);
    assert.deepEqual(dnsPacket.decode((reply as { bytes: Buffer }).bytes).questions, [
      { name: 'auth.test', type: 'A', class: 'IN' },
    ]);
  });

  it('drops what Knot drops: two questions, responses, short packets', () => {
    const two = dnsPacket.encode({
      type: 'query',
      questions: [
        { name: 'auth.test', type: 'A' },
        { name: 'auth.test', type: 'MX' },
      ],
    });
    assert.deepEqual(respond(authority, two, { transport: 'udp' }), {
      kind: 'drop',
      reason: '2 questions',
      malformed: true,
    });
    const response = dnsPacket.encode({ type: 'response', questions: [{ name: 'auth.test', type: 'A' }] });
    assert.equal((respond(authority, response, { transport: 'udp' }) as { malformed: boolean }).malformed, false);
    assert.equal(respond(authority, Buffer.from('hello'), { transport: 'udp' }).kind, 'drop');
  });

  it('NOTIMP for unknown opcodes, NOTAUTH for NOTIFY and UPDATE (as Knot)', () => {
    const status = ask('auth.test', 'SOA', { opcode: 2, rd: true });
    assert.equal(status.rcode, 'NOTIMP');
    assert.equal((status.msg as unknown as { opcode: string }).opcode, 'STATUS');
    assert.equal(status.aa, false);
    assert.equal(ask('auth.test', 'SOA', { opcode: 4 }).rcode, 'NOTAUTH');
    assert.equal(ask('auth.test', 'SOA', { opcode: 5 }).rcode, 'NOTAUTH');
  });

  it('no zone transfers: AXFR over UDP is NOTIMP, otherwise NOTAUTH', () => {
    assert.equal(ask('auth.test', 'AXFR').rcode, 'NOTIMP');
    assert.equal(ask('auth.test', 'AXFR', { transport: 'tcp' }).rcode, 'NOTAUTH');
    assert.equal(ask('auth.test', 'IXFR').rcode, 'NOTAUTH');
    assert.equal(ask('example.org', 'AXFR', { transport: 'tcp' }).rcode, 'NOTAUTH');
  });

  it('throws MX_ZONE_CONFLICT for two zones with one origin', () => {
    assert.throws(
      () => createAuthority([PARENT, parseZone('$ORIGIN auth.test.\n@ SOA a b 1 2 3 4 5', { file: 'again.zone' })]),
      (err: unknown) =>
        isMxError(err, 'MX_ZONE_CONFLICT') && /auth\.test: auth\.test\.zone and again\.zone/.test(err.message),
    );
  });
});

describe('respond: EDNS (RFC 6891)', () => {
  it('answers OPT only to OPT, advertising 1232 and echoing DO (RFC 3225 §3)', () => {
    assert.equal(ask('auth.test', 'SOA').opt, undefined);
    const r = ask('auth.test', 'SOA', { edns: 4096, dnssecOk: true });
    assert.equal(r.opt?.udpPayloadSize, 1232);
    assert.equal(r.opt?.flags, 0x8000);
    assert.equal(ask('auth.test', 'SOA', { edns: 4096 }).opt?.flags, 0);
  });

  it('BADVERS for an EDNS version above 0 (§6.1.3)', () => {
    const r = ask('auth.test', 'SOA', { edns: 1232, ednsVersion: 1 });
    assert.equal(r.rcode, 'BADVERS');
    assert.equal(r.opt?.extendedRcode, 1);
    assert.equal(r.opt?.ednsVersion, 0);
    assert.equal(r.aa, false);
    assert.deepEqual(r.answer, []);
  });
});

describe('respond: truncation (RFC 2181 §9, RFC 1035 §4.2.1)', () => {
  it('over UDP without EDNS (512), sets TC and leaves the RRset out; AA stays', () => {
    const r = ask('big.auth.test', 'MX');
    assert.equal(r.tc, true);
    assert.equal(r.aa, true);
    assert.deepEqual([r.answer, r.authority, r.additional], [[], [], []]);
    assert.ok(r.bytes.length <= 512);
  });

  it('with EDNS, the limit is the client’s size, at least 512 and at most 1232', () => {
    const small = ask('big.auth.test', 'MX', { edns: 100 });
    assert.equal(small.tc, true);
    assert.equal(small.opt?.udpPayloadSize, 1232);
    const large = ask('big.auth.test', 'MX', { edns: 4096 });
    assert.equal(large.tc, false);
    assert.equal(large.answer.length, 40);
    assert.ok(large.additional.length > 0 && large.additional.length < 40, 'additional data cut short without TC');
    assert.ok(large.bytes.length <= 1232);
  });

  it('keeps what fitted before the RRset that did not', () => {
    const r = ask('bigalias.auth.test', 'MX', { edns: 512 });
    assert.equal(r.tc, true);
    assert.deepEqual(r.answer, ['bigalias.auth.test 3600 CNAME big.auth.test']);
  });

  it('over TCP sends everything', () => {
    const r = ask('big.auth.test', 'MX', { transport: 'tcp' });
    assert.equal(r.tc, false);
    assert.equal(r.answer.length, 40);
    assert.equal(r.additional.length, 40);
  });

  it('SERVFAIL when even TCP cannot carry the answer (65535 octets)', () => {
    const huge = parseZone(
      [
        '$ORIGIN huge.test.',
        '@ SOA a b 1 2 3 4 5',
        ...Array.from({ length: 300 }, (_, i) => `t TXT "${String(i).padStart(250, 'x')}"`),
      ].join('\n'),
    );
    const reply = respond(createAuthority([huge]), query('t.huge.test', 'TXT'), { transport: 'tcp' });
    assert.equal(reply.kind === 'reply' && reply.rcode, 'SERVFAIL');
  });
});
