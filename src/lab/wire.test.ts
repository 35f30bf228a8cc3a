import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  FLAG_AA,
  FLAG_QR,
  FLAG_TC,
  createMessageWriter,
  encodeMessage,
  encodeRdata,
  labelsToName,
  nameLabels,
  parseQuery,
  typeCode,
  typeName,
} from './wire.js';
import type { WireMessage } from './wire.js';

const mx = (preference: number, exchange: string) => ({
  name: 'example.com',
  type: 'MX',
  class: 'IN',
  ttl: 3600,
  data: { preference, exchange },
});
const a = (name: string, address: string) => ({ name, type: 'A', class: 'IN', ttl: 3600, data: address });

const MX_ANSWER: WireMessage = {
  id: 4242,
  type: 'response',
  flags: FLAG_AA | 0x0100,
  questions: [{ name: 'example.com', type: 'MX', class: 'IN' }],
  answers: [mx(10, 'mail1.example.com'), mx(20, 'mail2.example.com'), mx(30, 'mail3.example.com')],
  authorities: [],
  additionals: [
    a('mail1.example.com', '127.0.1.1'),
    a('mail2.example.com', '127.0.1.2'),
    a('mail3.example.com', '127.0.1.3'),
    { name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] },
  ],
};

// dns-packet decodes the root as '.', and adds fields we do not compare.
function comparable(p: dnsPacket.DecodedPacket) {
  const rr = (r: dnsPacket.Answer) =>
    r.type === 'OPT'
      ? { type: r.type, udpPayloadSize: r.udpPayloadSize, flags: r.flags }
      : { name: r.name, type: r.type, class: r.class, ttl: r.ttl, data: r.data };
  return {
    id: p.id,
    flags: p.flags,
    questions: p.questions,
    answers: (p.answers ?? []).map(rr),
    authorities: (p.authorities ?? []).map(rr),
    additionals: (p.additionals ?? []).map(rr),
  };
}

describe('encodeMessage: RFC 1035 §4.1.4 name compression', () => {
  it('writes what dns-packet reads back as the same message', () => {
    const ours = dnsPacket.decode(encodeMessage(MX_ANSWER));
    const theirs = dnsPacket.decode(dnsPacket.encode(MX_ANSWER as dnsPacket.Packet));
    assert.deepEqual(comparable(ours), comparable(theirs));
    assert.equal(ours.answers?.length, 3);
    assert.equal(ours.flag_aa, true);
  });

  it('is smaller than dns-packet’s uncompressed encoding for a multi-record MX answer', () => {
    const ours = encodeMessage(MX_ANSWER).length;
    const theirs = dnsPacket.encode(MX_ANSWER as dnsPacket.Packet).length;
    // Answer owners become 2-octet pointers (13 → 2), exchanges "mailN" + pointer (19 → 8), additional owners
    // likewise (19 → 8): 3 × 11 + 3 × 11 + 3 × 11 octets saved.
    assert.equal(theirs - ours, 99);
  });

  it('points owners at the question, case-insensitively, keeping the question’s case', () => {
    const bytes = encodeMessage({
      ...MX_ANSWER,
      questions: [{ name: 'EXAMPLE.Com', type: 'MX' }],
      additionals: [],
    });
    const header = 12;
    const qlen = 'EXAMPLE.Com'.length + 2 + 4;
    assert.equal(bytes.readUInt16BE(header + qlen), 0xc00c, 'first owner is a pointer to offset 12');
    const decoded = dnsPacket.decode(bytes);
    assert.equal(decoded.answers?.[0]?.name, 'EXAMPLE.Com');
    assert.deepEqual((decoded.answers?.[0] as dnsPacket.MxAnswer).data, {
      preference: 10,
      exchange: 'mail1.EXAMPLE.Com',
    });
  });

  it('compresses names in NS, CNAME, SOA, PTR and MX RDATA only, never in SRV (RFC 3597 §4)', () => {
    const msg: WireMessage = {
      id: 1,
      type: 'response',
      questions: [{ name: 'example.com', type: 'ANY' }],
      answers: [
        { name: 'example.com', type: 'NS', ttl: 1, data: 'ns1.example.com' },
        { name: 'www.example.com', type: 'CNAME', ttl: 1, data: 'example.com' },
        {
          name: '_sip._tcp.example.com',
          type: 'SRV',
          ttl: 1,
          data: { priority: 0, weight: 0, port: 5060, target: 'example.com' },
        },
      ],
    };
    const bytes = encodeMessage(msg);
    const srvTarget = bytes.subarray(bytes.length - 13);
    assert.deepEqual(srvTarget, Buffer.from('076578616d706c6503636f6d00', 'hex'), 'SRV target written out in full');
    assert.equal(
      bytes.readUInt16BE(bytes.indexOf(Buffer.from('0005', 'hex'), 29) + 8),
      2,
      'CNAME RDATA is one pointer',
    );
    const back = dnsPacket.decode(bytes);
    assert.deepEqual(
      back.answers?.map((r) => (r as { data: unknown }).data),
      ['ns1.example.com', 'example.com', { priority: 0, weight: 0, port: 5060, target: 'example.com' }],
    );
  });

  it('writes TXT, CAA, TLSA, AAAA and unknown types, and leaves the caller’s data alone', () => {
    const txt = ['v=spf1 -all', Buffer.from([0xc8, 0x01])];
    const caa = { issuerCritical: true, tag: 'issue', value: 'ca.example' };
    const msg: WireMessage = {
      id: 2,
      questions: [{ name: 'x.test', type: 'TXT' }],
      answers: [
        { name: 'x.test', type: 'TXT', ttl: 5, data: txt },
        { name: 'x.test', type: 'CAA', ttl: 5, data: caa },
        {
          name: 'x.test',
          type: 'TLSA',
          ttl: 5,
          data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('0c72', 'hex') },
        },
        { name: 'x.test', type: 'AAAA', ttl: 5, data: '::1' },
        { name: 'x.test', type: 'UNKNOWN_65280', ttl: 5, data: Buffer.from('abcd', 'hex') },
      ],
    };
    const back = dnsPacket.decode(encodeMessage(msg)).answers ?? [];
    assert.deepEqual((back[0] as dnsPacket.TxtAnswer).data, [Buffer.from('v=spf1 -all'), Buffer.from([0xc8, 0x01])]);
    assert.deepEqual((back[1] as dnsPacket.CaaAnswer).data, {
      flags: 128,
      tag: 'issue',
      value: 'ca.example',
      issuerCritical: true,
    });
    assert.equal((back[2] as dnsPacket.TlsaAnswer).data.certificate.toString('hex'), '0c72');
    assert.equal((back[3] as { data: string }).data, '::1');
    assert.deepEqual((back[4] as { data: Buffer }).data, Buffer.from('abcd', 'hex'));
    assert.equal(typeof txt[0], 'string', 'TXT strings not replaced by Buffers');
    assert.equal('flags' in caa, false, 'CAA flags not added');
  });

  it('writes the null MX exchange as the root, one octet', () => {
    const bytes = encodeMessage({ id: 3, questions: [{ name: 'nullmx.example', type: 'MX' }], answers: [mx(0, '')] });
    assert.deepEqual(bytes.subarray(-3), Buffer.from([0, 0, 0]), 'preference 0, then the root label');
    assert.equal((dnsPacket.decode(bytes).answers?.[0] as dnsPacket.MxAnswer).data.exchange, '.');
  });

  it('does not compress a message without a question', () => {
    const bytes = encodeMessage({ id: 1, answers: [mx(10, 'mail.example.com'), mx(20, 'mail.example.com')] });
    assert.equal(
      bytes.length,
      dnsPacket.encode({ id: 1, answers: [mx(10, 'mail.example.com'), mx(20, 'mail.example.com')] } as dnsPacket.Packet)
        .length,
    );
  });
});

describe('createMessageWriter: RRsets whole or not at all (RFC 2181 §9)', () => {
  const rrset = (n: number) => ({
    name: 'big.test',
    type: 'MX',
    ttl: 60,
    rdata: Array.from({ length: n }, (_, i) => ({ preference: 10, exchange: `mx${i}.big.test` })),
  });

  it('leaves out an RRset that does not fit and sets TC', () => {
    const w = createMessageWriter({ id: 1, flags: FLAG_QR, question: { name: 'big.test', type: 'MX' }, maxSize: 512 });
    assert.equal(w.put('answer', rrset(40), { ownerHint: 'qname' }), null);
    assert.equal(w.flags & FLAG_TC, FLAG_TC);
    const msg = dnsPacket.decode(w.finish());
    assert.equal(msg.answers?.length, 0);
    assert.equal(msg.flag_tc, true);
  });

  it('leaves it out without TC when asked (optional additional data)', () => {
    const w = createMessageWriter({ id: 1, flags: FLAG_QR, question: { name: 'big.test', type: 'MX' }, maxSize: 512 });
    assert.equal(w.put('answer', rrset(3), { ownerHint: 'qname' }), 0);
    assert.equal(w.put('additional', rrset(40), { truncate: false }), null);
    assert.equal(w.flags & FLAG_TC, 0);
    assert.equal(dnsPacket.decode(w.finish()).answers?.length, 3);
  });

  it('keeps reserved room for the OPT record', () => {
    const w = createMessageWriter({ id: 1, flags: 0, question: { name: 'big.test', type: 'MX' }, maxSize: 100 });
    w.reserve(11);
    assert.equal(
      w.put('answer', { name: 'big.test', type: 'TXT', ttl: 1, rdata: [Buffer.alloc(55)] }),
      null,
      '26+10+2+56+11 > 100',
    );
    assert.notEqual(w.put('answer', { name: 'big.test', type: 'TXT', ttl: 1, rdata: [Buffer.alloc(50)] }), null);
    assert.equal(w.putOpt({ udpPayloadSize: 1232 }), true);
    assert.ok(w.size <= 100);
  });

  it('writes an additional owner as a pointer to the name in RDATA (Knot’s hints)', () => {
    const w = createMessageWriter({ id: 1, flags: 0, question: { name: 'example.com', type: 'MX' } });
    const id = w.put(
      'answer',
      { name: 'example.com', type: 'MX', ttl: 1, rdata: [{ preference: 10, exchange: 'mail.example.com' }] },
      { ownerHint: 'qname' },
    ) as number;
    const before = w.size;
    w.put(
      'additional',
      { name: 'mail.example.com', type: 'A', ttl: 1, rdata: ['127.0.0.1'] },
      { ownerHint: { rrset: id, rdata: 0 } },
    );
    assert.equal(w.size - before, 2 + 10 + 4);
    const back = dnsPacket.decode(w.finish());
    assert.equal(back.additionals?.[0]?.name, 'mail.example.com');
  });

  it('refuses to go back to an earlier section', () => {
    const w = createMessageWriter({ id: 1, flags: 0, question: null });
    w.put('additional', { name: 'a.test', type: 'A', ttl: 1, rdata: ['127.0.0.1'] });
    assert.throws(() => w.put('answer', { name: 'a.test', type: 'A', ttl: 1, rdata: ['127.0.0.1'] }), /cannot go back/);
  });
});

describe('names and types', () => {
  it('splits names into labels, with escapes, and back', () => {
    assert.deepEqual(nameLabels('a.b.'), [Buffer.from('a'), Buffer.from('b')]);
    assert.deepEqual(nameLabels(''), []);
    assert.deepEqual(nameLabels('.'), []);
    assert.deepEqual(nameLabels('john\\.doe.x'), [Buffer.from('john.doe'), Buffer.from('x')]);
    assert.equal(labelsToName([Buffer.from('john.doe'), Buffer.from('x')]), 'john\\.doe.x');
    assert.throws(() => nameLabels(`${'a'.repeat(64)}.x`), /at most 63/);
    assert.throws(() => nameLabels('a..b'), /empty label/);
    assert.throws(() => nameLabels(Array.from({ length: 130 }, () => 'a').join('.')), /at most 255/);
  });

  it('maps type names and codes', () => {
    assert.equal(typeCode('MX'), 15);
    assert.equal(typeCode('tlsa'), 52);
    assert.equal(typeCode('TYPE65280'), 65280);
    assert.equal(typeCode('UNKNOWN_65280'), 65280);
    assert.equal(typeName(257), 'CAA');
    assert.equal(typeName(65280), 'UNKNOWN_65280');
    assert.throws(() => typeCode('BOGUS'), /unknown RR type/);
  });

  it('encodeRdata gives the uncompressed RDATA that orders an RRset', () => {
    assert.equal(encodeRdata('MX', { preference: 10, exchange: 'mail.x' }).toString('hex'), '000a046d61696c017800');
    assert.equal(encodeRdata('A', '127.0.0.1').toString('hex'), '7f000001');
  });
});

describe('parseQuery: what a server does with the octets it gets', () => {
  const query = (p: dnsPacket.Packet) => dnsPacket.encode({ type: 'query', id: 9, ...p });

  it('reads a query, keeping the QNAME’s case, and its EDNS', () => {
    const q = parseQuery(
      query({
        flags: 0x0100,
        questions: [{ name: 'Example.COM', type: 'MX' }],
        additionals: [
          { name: '.', type: 'OPT', udpPayloadSize: 4096, flags: 0x8000, options: [] } as unknown as dnsPacket.Answer,
        ],
      }),
    );
    assert.deepEqual(q, {
      kind: 'query',
      id: 9,
      flags: 0x0100,
      opcode: 0,
      question: { name: 'Example.COM', type: 15, class: 1 },
      edns: { udpPayloadSize: 4096, version: 0, flags: 0x8000 },
    });
  });

  it('drops what is not a readable query (no reply, as Knot)', () => {
    assert.equal(parseQuery(Buffer.alloc(11)).kind, 'drop');
    assert.deepEqual(parseQuery(query({ type: 'response', questions: [{ name: 'x.test', type: 'A' }] })), {
      kind: 'drop',
      reason: 'a response, not a query',
      response: true,
    });
    const two = query({
      questions: [
        { name: 'x.test', type: 'A' },
        { name: 'y.test', type: 'A' },
      ],
    });
    assert.match((parseQuery(two) as { reason: string }).reason, /2 questions/);
    const pointer = Buffer.concat([query({ questions: [] }), Buffer.from('c00c00010001', 'hex')]);
    pointer.writeUInt16BE(1, 4);
    assert.equal(parseQuery(pointer).kind, 'drop', 'a compressed QNAME');
    assert.equal(parseQuery(query({ questions: [{ name: 'x.test', type: 'A' }] }).subarray(0, 20)).kind, 'drop');
  });

  it('gives FORMERR for a readable question followed by junk', () => {
    const trailing = Buffer.concat([query({ questions: [{ name: 'x.test', type: 'A' }] }), Buffer.from([0xff])]);
    assert.equal(parseQuery(trailing).kind, 'formerr');
    const opt = { name: '.', type: 'OPT', udpPayloadSize: 1232, options: [] } as unknown as dnsPacket.Answer;
    const twoOpt = query({ questions: [{ name: 'x.test', type: 'A' }], additionals: [opt, opt] });
    assert.match((parseQuery(twoOpt) as { reason: string }).reason, /repeated OPT/);
    const badCount = query({ questions: [{ name: 'x.test', type: 'A' }] });
    badCount.writeUInt16BE(1, 6); // claims an answer that is not there
    assert.equal(parseQuery(badCount).kind, 'formerr');
  });

  it('reads a message without a question (the server answers FORMERR)', () => {
    const q = parseQuery(query({ questions: [] }));
    assert.equal(q.kind, 'query');
    assert.equal((q as { question: unknown }).question, null);
  });
});
