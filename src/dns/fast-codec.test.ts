import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import packet from 'dns-packet';
import type { RecordType } from 'dns-packet';
import { seededRng } from '../core/random.js';
import type { WireMessage, WireMessageRecord } from '../lab/wire.js';
import { encodeMessage } from '../lab/wire.js';
import { decodeResponseFast, encodeQueryFast } from './fast-codec.js';
import { decodeResponseReference, encodeQuery, encodeQueryReference } from './message.js';
import type { DnsResponse } from './types.js';

const rng = seededRng(20261128);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (n: number) => Math.floor(rng() * n);

const NAMES = ['', 'example.com', 'Mail.Example.COM', 'a.b.c.d.e', 'xn--bcher-kva.example', `${'x'.repeat(63)}.test`];

function randomName(): string {
  if (rng() < 0.15) return pick(NAMES);
  const labels = Array.from({ length: 1 + int(4) }, () => {
    const len = 1 + int(rng() < 0.05 ? 63 : 12);
    return Array.from({ length: len }, () =>
      pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_']),
    ).join('');
  });
  return labels.join('.');
}

function randomIpv6(): string {
  const groups = Array.from({ length: 8 }, () => (rng() < 0.5 ? 0 : int(0x10000)));
  return groups.map((g) => g.toString(16)).join(':');
}

/** A record of a type the fast codec covers, or (with `uncommon`) of one it hands to dns-packet. */
function randomRecord(uncommon: boolean): WireMessageRecord {
  const name = randomName() || '.';
  const ttl = int(2 ** 31);
  // dns-packet writes the top bit of the class as mDNS's cache-flush bit: IN with it set is still IN.
  const base = { name, ttl, class: rng() < 0.9 ? 'IN' : pick(['CH', 'HS']), ...(rng() < 0.1 ? { flush: true } : {}) };
  if (uncommon) {
    return pick<WireMessageRecord>([
      { ...base, type: 'TXT', data: ['v=spf1 -all', 'x'] },
      { ...base, type: 'SRV', data: { priority: 1, weight: 2, port: 25, target: randomName() || '.' } },
      { ...base, type: 'CAA', data: { flags: 0, tag: 'issue', value: 'ca.example' } },
    ]);
  }
  switch (int(7)) {
    case 0:
      return { ...base, type: 'A', data: `${int(256)}.${int(256)}.${int(256)}.${int(256)}` };
    case 1:
      return { ...base, type: 'AAAA', data: randomIpv6() };
    case 2:
      return { ...base, type: 'MX', data: { preference: int(65536), exchange: randomName() || '.' } };
    case 3:
      return { ...base, type: 'CNAME', data: randomName() || '.' };
    case 4:
      return { ...base, type: 'NS', data: randomName() || '.' };
    case 5:
      return { ...base, type: 'PTR', data: randomName() || '.' };
    default:
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: randomName() || '.',
          rname: randomName() || '.',
          serial: int(2 ** 32),
          refresh: int(2 ** 32),
          retry: int(2 ** 32),
          expire: int(2 ** 32),
          minimum: int(2 ** 32),
        },
      };
  }
}

function randomMessage(uncommon: boolean): WireMessage & { id: number } {
  const records = (n: number) => Array.from({ length: n }, () => randomRecord(uncommon && rng() < 0.3));
  const additionals = records(int(3));
  if (rng() < 0.7) {
    additionals.push({
      name: '.',
      type: 'OPT',
      udpPayloadSize: pick([512, 1232, 4096]),
      extendedRcode: uncommon && rng() < 0.3 ? 1 : 0,
      flags: pick([0, 0x8000]),
      options: uncommon && rng() < 0.3 ? [{ code: 10, data: Buffer.from('0123456789abcdef', 'hex') }] : [],
    });
  }
  return {
    id: int(65536),
    type: 'response',
    flags: (int(0x8000) & ~0x780f) | pick([0, 0, 0, 2, 3, 5, uncommon ? 9 : 1]),
    questions: [{ name: randomName() || '.', type: pick<RecordType>(['MX', 'A', 'AAAA', 'TXT', 'SOA', 'NS']) }],
    answers: records(int(6)),
    authorities: records(int(3)),
    additionals,
  };
}

/** The reference's verdict on the bytes: the decoded response or the error. */
function reference(bytes: Buffer): DnsResponse | Error {
  try {
    return decodeResponseReference(bytes);
  } catch (err) {
    return err as Error;
  }
}

/** A response as a plain object (the fast codec may read its additional section on demand). */
function plain(response: DnsResponse): DnsResponse {
  return { ...response, additional: response.additional };
}

/** The fast codec must agree with dns-packet whenever it answers. Returns whether it answered. */
function agrees(bytes: Buffer, label: string): boolean {
  const fast = decodeResponseFast(bytes);
  if (fast === null) return false;
  const ref = reference(bytes);
  assert.ok(
    !(ref instanceof Error),
    `${label}: the fast decoder accepted what dns-packet rejects (${ref instanceof Error ? ref.message : 'accepted'})`,
  );
  assert.deepEqual(plain(fast), ref, label);
  return true;
}

describe('fast query encoder', () => {
  it('writes the bytes dns-packet writes, for every option and many names', () => {
    const types: RecordType[] = [
      'MX',
      'A',
      'AAAA',
      'TXT',
      'SOA',
      'NS',
      'PTR',
      'CNAME',
      'SRV',
      'DS',
      'DNSKEY',
      'TLSA',
      'CAA',
    ];
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const question = { name: randomName().toLowerCase(), type: pick(types) };
      const options = {
        id: int(65536),
        edns: rng() < 0.8,
        dnssecOk: rng() < 0.3,
        recursionDesired: rng() < 0.8,
        checkingDisabled: rng() < 0.2,
      };
      const fast = encodeQueryFast(question, {
        id: options.id,
        recursionDesired: options.recursionDesired,
        checkingDisabled: options.checkingDisabled,
        ednsUdpSize: options.edns ? 1232 : null,
        dnssecOk: options.dnssecOk,
      });
      assert.ok(fast, `encodes ${question.name} ${question.type}`);
      assert.deepEqual(fast, encodeQueryReference(question, options), `${question.name} ${question.type}`);
      assert.deepEqual(encodeQuery(question, options).bytes, fast);
      compared++;
    }
    assert.equal(compared, 3000);
  });

  it('leaves what it does not write to dns-packet', () => {
    assert.equal(encodeQueryFast({ name: 'example.com', type: 'NAPTR' }, opts()), null);
    assert.equal(encodeQueryFast({ name: 'bücher.example', type: 'MX' }, opts()), null);
    assert.equal(encodeQueryFast({ name: `${'x'.repeat(64)}.example`, type: 'MX' }, opts()), null);
    assert.equal(encodeQueryFast({ name: 'a..b', type: 'MX' }, opts()), null);
    // and encodeQuery still encodes them, through dns-packet
    const naptr = encodeQuery({ name: 'example.com', type: 'NAPTR' }, { id: 7 });
    assert.equal(packet.decode(naptr.bytes).questions?.[0]?.type, 'NAPTR');
  });
});

function opts() {
  return { id: 1, recursionDesired: true, checkingDisabled: false, ednsUdpSize: 1232, dnssecOk: false };
}

describe('fast response decoder', () => {
  it('decodes what dns-packet decodes, field for field (uncompressed, as dns-packet writes)', () => {
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const message = randomMessage(false);
      const bytes = packet.encode(message as packet.Packet);
      if (agrees(bytes, `message ${i}`)) fast++;
    }
    // Covered types and rcodes only: every one decodes fast.
    assert.equal(fast, 2000);
  });

  it('decodes compressed messages (as the lab and Knot write them) like dns-packet', () => {
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeMessage(randomMessage(false));
      if (agrees(bytes, `compressed message ${i}`)) fast++;
    }
    assert.equal(fast, 2000);
  });

  it('reads an additional section of addresses when it is first read, as dns-packet does at once', () => {
    const message: WireMessage = {
      id: 9,
      type: 'response',
      flags: 0x0400,
      questions: [{ name: 'example.com', type: 'MX' }],
      answers: [{ name: 'example.com', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mx.example.com' } }],
      additionals: [
        { name: 'mx.example.com', type: 'A', ttl: 60, data: '127.0.0.9' },
        { name: 'mx.example.com', type: 'AAAA', ttl: 60, data: '::1' },
        { name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, flags: 0, options: [] },
      ],
    };
    // In a larger buffer, as a TCP read holds several replies.
    const inner = encodeMessage(message);
    const bytes = Buffer.concat([Buffer.from([1, 2, 3]), inner, Buffer.from([4])]).subarray(3, 3 + inner.length);
    const fast = decodeResponseFast(bytes)!;
    assert.equal(fast.ednsUdpSize, 1232);
    assert.deepEqual(
      fast.additional.map((r) => `${r.name} ${r.type} ${String(r.data)}`),
      ['mx.example.com A 127.0.0.9', 'mx.example.com AAAA ::1'],
    );
    assert.deepEqual(plain(fast), reference(inner));
    // As JSON, the plain response; and the section can be replaced like any other.
    assert.deepEqual(
      JSON.parse(JSON.stringify(decodeResponseFast(inner))),
      JSON.parse(JSON.stringify(reference(inner))),
    );
    const again = decodeResponseFast(inner)!;
    again.additional = [];
    assert.deepEqual(again.additional, []);
  });

  it('hands messages with uncovered types, EDNS options or rare rcodes to dns-packet', () => {
    let handed = 0;
    for (let i = 0; i < 1000; i++) {
      const bytes = encodeMessage(randomMessage(true));
      if (!agrees(bytes, `uncommon message ${i}`)) handed++;
    }
    assert.ok(handed > 100, `${handed} of 1000 handed over`);
    const txt = encodeMessage({
      id: 1,
      type: 'response',
      questions: [{ name: 'example.com', type: 'TXT' }],
      answers: [{ name: 'example.com', type: 'TXT', ttl: 60, data: ['v=spf1 -all'] }],
    });
    assert.equal(decodeResponseFast(txt), null);
  });

  it('never accepts mangled bytes dns-packet rejects, nor reads them differently', () => {
    let checked = 0;
    for (let i = 0; i < 150; i++) {
      const bytes = encodeMessage(randomMessage(false));
      for (let cut = 0; cut < bytes.length; cut++) {
        agrees(bytes.subarray(0, cut), `message ${i} cut at ${cut}`);
        checked++;
      }
      for (let flip = 0; flip < 60; flip++) {
        const copy = Buffer.from(bytes);
        const at = int(copy.length);
        copy[at] = pick([0x00, 0xc0, 0xff, 0x3f, 0x40, copy[at]! ^ (1 << int(8))]);
        if (rng() < 0.3) copy[int(copy.length)] = int(256);
        agrees(copy, `message ${i} with octet ${at} changed`);
        checked++;
      }
    }
    assert.ok(checked > 10_000);
  });

  it('rejects compression loops, forward pointers and over-long names', () => {
    const header = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    const tail = Buffer.from([0, 15, 0, 1]);
    const selfLoop = Buffer.concat([header, Buffer.from([0xc0, 12]), tail]);
    const forward = Buffer.concat([header, Buffer.from([0xc0, 14, 0]), tail]);
    const longName = Buffer.concat([
      header,
      Buffer.concat(Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)]))),
      Buffer.from([0]),
      tail,
    ]);
    for (const bytes of [selfLoop, forward, longName]) {
      assert.equal(decodeResponseFast(bytes), null);
      assert.ok(reference(bytes) instanceof Error);
    }
  });

  it('escapes a dot inside an SOA RNAME label, and reads non-ASCII labels, as dns-packet does', () => {
    const soa = {
      mname: 'ns1.example.test',
      rname: 'first\\.last.example.test',
      serial: 1,
      refresh: 2,
      retry: 3,
      expire: 4,
      minimum: 5,
    };
    const bytes = packet.encode({
      id: 1,
      type: 'response',
      questions: [{ name: 'example.test', type: 'SOA' }],
      answers: [{ name: 'example.test', type: 'SOA', ttl: 60, data: soa }],
    });
    assert.ok(agrees(bytes, 'rname with a dot'));
    assert.equal((decodeResponseFast(bytes)!.answers[0]!.data as { rname: string }).rname, 'first\\.last.example.test');
    const utf8 = packet.encode({
      id: 2,
      type: 'response',
      questions: [{ name: 'bücher.example', type: 'MX' }],
      answers: [
        { name: 'bücher.example', type: 'MX', ttl: 60, data: { preference: 1, exchange: 'MAIL.bücher.example' } },
      ],
    });
    assert.ok(agrees(utf8, 'UTF-8 labels'));
  });

  it('reads IPv6 addresses as ip-codec writes them', () => {
    for (const address of [
      '::',
      '::1',
      '2001:db8::1',
      'fe80::1:0:0:1',
      '1:0:0:2:0:0:0:3',
      '1:2:3:4:5:6:7:8',
      '0:0:1::',
    ]) {
      const bytes = encodeMessage({
        id: 1,
        type: 'response',
        questions: [{ name: 'h.example', type: 'AAAA' }],
        answers: [{ name: 'h.example', type: 'AAAA', ttl: 60, data: address }],
      });
      assert.ok(agrees(bytes, address), address);
    }
  });
});
