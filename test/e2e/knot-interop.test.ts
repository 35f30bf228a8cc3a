/**
 * The lab against Knot DNS, the server it imitates: both load the same zone files (the example world and
 * test/fixtures/zones/interop.test.zone), both are asked the same questions by kdig, and every reply must
 * agree in RCODE, flags (AA, TC), each section (records sorted), EDNS and message size. A second part sends
 * both the same hand-made packets (odd, malformed, mixed-case) and wants the same octets back, or the same
 * silence, over UDP and TCP.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLab } from '../../src/lab/index.js';
import type { Lab } from '../../src/lab/index.js';
import { DIG_SKIP_REASON, dig, digAvailable } from '../helpers/dig.js';
import type { DigOptions, DigRecord, DigResult } from '../helpers/dig.js';
import { KNOT_SKIP_REASON, knotAvailable, startKnot } from '../helpers/knot.js';
import type { KnotServer } from '../helpers/knot.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones/', import.meta.url));
const INTEROP = fileURLToPath(new URL('../fixtures/zones/interop.test.zone', import.meta.url));
const ZONE_FILES = [
  ...readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.zone'))
    .sort()
    .map((f) => `${EXAMPLES}${f}`),
  INTEROP,
];
const ORIGINS = ZONE_FILES.map((f) => f.replace(/^.*\//, '').replace(/\.zone$/, ''));

const skip = !knotAvailable() ? KNOT_SKIP_REASON : !digAvailable('kdig') ? DIG_SKIP_REASON('kdig') : false;

interface Question {
  name: string;
  type: string;
  opts?: DigOptions;
}

const I = (label: string) => (label === '' ? 'interop.test' : `${label}.interop.test`);
const QUESTIONS: Question[] = [
  // The example world: every zone's apex records, its DMARC record, its name server, a name that is not there.
  ...ORIGINS.flatMap((o) => [
    ...['SOA', 'NS', 'MX', 'A', 'AAAA', 'TXT'].map((type) => ({ name: o, type })),
    { name: `_dmarc.${o}`, type: 'TXT' },
    { name: `ns1.${o}`, type: 'A' },
    { name: `nope.${o}`, type: 'A' },
  ]),
  { name: 'www.example.com', type: 'A' },
  { name: 'mail2.example.com', type: 'AAAA' },
  { name: 'alt3.aspmx.l.google.com', type: 'A' },
  { name: 'm365-example.mail.protection.outlook.com', type: 'A' },
  { name: 'www.nullmx.example', type: 'MX' },
  { name: 'example.com', type: 'MX', opts: { tcp: true } },
  { name: 'example.com', type: 'MX', opts: { bufsize: false } },
  { name: 'example.com', type: 'SOA', opts: { dnssec: true } },
  { name: 'Example.COM', type: 'MX' },
  // Outside every zone: REFUSED (with EDE 20 when the query has EDNS).
  { name: 'example.org', type: 'A' },
  { name: 'google.com', type: 'MX' },
  { name: 'com', type: 'NS', opts: { bufsize: false } },
  // interop.test: the apex.
  ...['SOA', 'NS', 'MX', 'TXT', 'CAA', 'ANY'].map((type) => ({ name: I(''), type })),
  // CNAME chains, out-of-zone targets, dangling targets, loops.
  { name: I('www'), type: 'A' },
  { name: I('www'), type: 'CNAME' },
  { name: I('www'), type: 'MX' },
  { name: 'WWW.Interop.TEST', type: 'A' },
  { name: I('out'), type: 'A' },
  { name: I('dangling'), type: 'A' },
  { name: I('loop1'), type: 'A' },
  { name: I('x.www'), type: 'A' },
  // Wildcards.
  { name: I('foo.wild'), type: 'A' },
  { name: I('a.b.wild'), type: 'TXT' },
  { name: I('foo.wild'), type: 'MX' },
  { name: I('wild'), type: 'A' },
  { name: I('*.wild'), type: 'A' },
  { name: I('x.wc'), type: 'A' },
  { name: I('a.wcl'), type: 'A' },
  { name: 'A.WcL.Interop.Test', type: 'A' },
  // Empty non-terminals.
  { name: I('ent'), type: 'A' },
  { name: I('b.ent'), type: 'A' },
  { name: I('a.b.ent'), type: 'A' },
  { name: I('x.a.b.ent'), type: 'A' },
  // Delegations.
  { name: I('x.sub'), type: 'A' },
  { name: I('sub'), type: 'NS' },
  { name: I('sub'), type: 'DS' },
  { name: I('ns.sub'), type: 'A' },
  { name: I('alias2sub'), type: 'A' },
  { name: I('x.sub2'), type: 'A' },
  { name: 'X.Sub2.INTEROP.test', type: 'A' },
  { name: I('x.sub'), type: 'A', opts: { tcp: true } },
  // Additional-section processing.
  { name: I('wmx'), type: 'MX' },
  { name: I('dup'), type: 'MX' },
  { name: I('gluemx'), type: 'MX' },
  { name: I('srv'), type: 'SRV' },
  { name: I('_25._tcp.mail'), type: 'TLSA' },
  // Presentation corners.
  { name: I('txt'), type: 'TXT' },
  { name: I('ttlmix'), type: 'A' },
  { name: I('anyt'), type: 'ANY' },
  { name: I('mail'), type: 'ANY' },
  // A 40-record MX RRset: TC at 512 octets, a cut additional section at 1232, everything over TCP.
  { name: I('big'), type: 'MX' },
  { name: I('big'), type: 'MX', opts: { bufsize: 512 } },
  { name: I('big'), type: 'MX', opts: { bufsize: false } },
  { name: I('big'), type: 'MX', opts: { bufsize: 4096 } },
  { name: I('big'), type: 'MX', opts: { bufsize: 900 } },
  { name: I('big'), type: 'MX', opts: { tcp: true } },
  { name: I('big'), type: 'MX', opts: { tcp: true, bufsize: false } },
  { name: I('bigalias'), type: 'MX', opts: { bufsize: 512 } },
  { name: I('bigalias'), type: 'MX', opts: { tcp: true } },
  { name: I('nope'), type: 'A', opts: { bufsize: false } },
];

const describeQuestion = (q: Question) => {
  const o = q.opts ?? {};
  const flags = [
    o.tcp ? '+tcp' : '',
    o.bufsize === false ? '+noedns' : o.bufsize ? `+bufsize=${o.bufsize}` : '',
    o.dnssec ? '+dnssec' : '',
  ].filter(Boolean);
  return `${q.name} ${q.type}${flags.length ? ` ${flags.join(' ')}` : ''}`;
};

function comparable(r: DigResult) {
  const rr = (x: DigRecord) => `${x.name} ${x.ttl} ${x.class} ${x.type} ${x.rdata} [${x.rdataHex}]`;
  return {
    rcode: r.rcode,
    aa: r.flags.aa,
    tc: r.flags.tc,
    rd: r.flags.rd,
    ra: r.flags.ra,
    question: r.question,
    answer: r.answer.map(rr).sort(),
    authority: r.authority.map(rr).sort(),
    additional: r.additional.map(rr).sort(),
    edns: r.edns,
    size: r.size,
  };
}

async function inPool<T>(jobs: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

describe('the lab answers as Knot does (kdig, question by question)', { skip }, () => {
  let knot: KnotServer;
  let lab: Lab;
  const results = new Map<number, { knot: DigResult; lab: DigResult }>();

  before(async () => {
    [knot, lab] = await Promise.all([startKnot({ zoneFiles: ZONE_FILES }), startLab({ zones: ZONE_FILES })]);
    const jobs = QUESTIONS.map((q, i) => async () => {
      const [k, l] = await Promise.all([dig(knot, q.name, q.type, q.opts), dig(lab.dns, q.name, q.type, q.opts)]);
      results.set(i, { knot: k, lab: l });
    });
    await inPool(jobs, 8);
  });
  after(async () => {
    await Promise.all([knot?.close(), lab?.close()]);
  });

  it('asks a long list of questions', () => {
    assert.ok(QUESTIONS.length > 100);
    assert.equal(results.size, QUESTIONS.length);
  });

  QUESTIONS.forEach((q, i) => {
    it(describeQuestion(q), () => {
      const r = results.get(i);
      assert.ok(r, 'no result');
      assert.deepEqual(comparable(r.lab), comparable(r.knot));
    });
  });

  it('covers every outcome the lab must imitate', () => {
    const all = [...results.values()].map((r) => r.knot);
    const rcodes = new Set(all.map((r) => r.rcode));
    for (const rcode of ['NOERROR', 'NXDOMAIN', 'REFUSED']) assert.ok(rcodes.has(rcode), rcode);
    assert.ok(
      all.some((r) => r.flags.tc),
      'a truncated reply',
    );
    assert.ok(
      all.some((r) => !r.flags.aa && r.authority.some((x) => x.type === 'NS')),
      'a referral',
    );
    assert.ok(
      all.some((r) => r.answer.length === 0 && r.rcode === 'NOERROR' && r.flags.aa),
      'NODATA',
    );
    assert.ok(
      all.some((r) => r.edns?.ede === 20),
      'EDE 20',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Raw packets

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}
function question(name: string, type = 1, klass = 1): Buffer {
  const labels = name === '' ? [] : name.split('.');
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(klass, 2);
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
    tail,
  ]);
}
function opt(size = 1232, flags = 0, version = 0, rdata = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(size, 3);
  b[6] = version;
  b.writeUInt16BE(flags, 7);
  b.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([b, rdata]);
}

const RD = 0x0100;
const RAW: Record<string, Buffer> = {
  'plain SOA': Buffer.concat([header(1, RD, 1), question('interop.test', 6)]),
  'DO bit echoed': Buffer.concat([header(2, RD, 1, 0, 0, 1), question('interop.test', 6), opt(1232, 0x8000)]),
  'all other OPT flags cleared': Buffer.concat([
    header(2, RD, 1, 0, 0, 1),
    question('interop.test', 6),
    opt(1232, 0xffff),
  ]),
  'EDNS version 1: BADVERS': Buffer.concat([header(3, RD, 1, 0, 0, 1), question('interop.test', 6), opt(1232, 0, 1)]),
  'EDNS option ignored': Buffer.concat([
    header(3, 0, 1, 0, 0, 1),
    question('interop.test', 6),
    opt(1232, 0, 0, Buffer.from('000a00080102030405060708', 'hex')),
  ]),
  'malformed EDNS option': Buffer.concat([
    header(3, 0, 1, 0, 0, 1),
    question('interop.test', 6),
    opt(1232, 0, 0, Buffer.from('000a0009010203', 'hex')),
  ]),
  'no question': header(4, RD, 0),
  'no question, with EDNS': Buffer.concat([header(4, RD, 0, 0, 0, 1), opt()]),
  'two questions': Buffer.concat([header(5, RD, 2), question('interop.test', 6), question('interop.test', 1)]),
  'opcode STATUS': Buffer.concat([header(6, 0x1000 | RD, 1), question('interop.test', 6)]),
  'opcode 3 with EDNS': Buffer.concat([header(6, 0x1800, 1, 0, 0, 1), question('interop.test', 6), opt()]),
  'opcode NOTIFY': Buffer.concat([header(6, 0x2000, 1), question('interop.test', 6)]),
  'opcode UPDATE': Buffer.concat([header(6, 0x2800, 1), question('interop.test', 6)]),
  'a response': Buffer.concat([header(7, 0x8000 | RD, 1), question('interop.test', 6)]),
  'shorter than a header': Buffer.from('0008010000010000', 'hex'),
  'question cut short': Buffer.concat([header(8, RD, 1), question('interop.test', 6)]).subarray(0, 20),
  'compressed QNAME': Buffer.concat([header(8, RD, 1), Buffer.from('c00c00060001', 'hex')]),
  'junk after the question': Buffer.concat([header(9, RD, 1), question('interop.test', 6), Buffer.from([0xff])]),
  'two OPT records': Buffer.concat([header(9, RD, 1, 0, 0, 2), question('interop.test', 6), opt(), opt()]),
  'OPT in the answer section': Buffer.concat([header(9, RD, 1, 1), question('interop.test', 6), opt()]),
  'class CH': Buffer.concat([header(10, 0, 1), question('interop.test', 6, 3)]),
  'class ANY': Buffer.concat([header(10, 0, 1), question('interop.test', 6, 255)]),
  AXFR: Buffer.concat([header(11, 0, 1), question('interop.test', 252)]),
  'AXFR outside the zones': Buffer.concat([header(11, 0, 1), question('example.org', 252)]),
  IXFR: Buffer.concat([header(11, 0, 1), question('interop.test', 251)]),
  'type 0': Buffer.concat([header(11, 0, 1), question('interop.test', 0)]),
  'all query flags set': Buffer.concat([header(12, 0x07f0 | RD, 1), question('interop.test', 6)]),
  'RCODE set in the query': Buffer.concat([header(12, RD | 3, 1), question('interop.test', 6)]),
  'mixed-case MX with additional data': Buffer.concat([header(13, 0, 1), question('InTeRoP.TeSt', 15)]),
  'mixed-case wildcard CNAME loop': Buffer.concat([header(13, 0, 1), question('A.WcL.InTeRoP.TeSt', 1)]),
  'mixed-case wildcard': Buffer.concat([header(13, 0, 1), question('Foo.WiLd.InTeRoP.TeSt', 16)]),
  'mixed-case wildcard as MX target': Buffer.concat([header(13, 0, 1), question('WMX.InTeRoP.TeSt', 15)]),
  'mixed-case referral': Buffer.concat([header(13, 0, 1), question('X.SUB2.InTeRoP.TeSt', 1)]),
  'mixed-case NXDOMAIN': Buffer.concat([header(13, 0, 1), question('NOPE.InTeRoP.TeSt', 1)]),
  'EDNS size 100 (below 512)': Buffer.concat([header(14, 0, 1, 0, 0, 1), question('big.interop.test', 15), opt(100)]),
  'EDNS size 1000': Buffer.concat([header(14, 0, 1, 0, 0, 1), question('big.interop.test', 15), opt(1000)]),
  'duplicate additional data': Buffer.concat([header(15, 0, 1, 0, 0, 1), question('dup.interop.test', 15), opt()]),
  '63-octet label': Buffer.concat([header(16, 0, 1), question(`${'a'.repeat(63)}.interop.test`, 1)]),
};

function udpExchange(port: number, msg: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve('(no reply)');
    }, 300);
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(m.toString('hex'));
    });
    socket.send(msg, port, '127.0.0.1');
  });
}

function tcpExchange(port: number, msg: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const replies: string[] = [];
    let pending = Buffer.alloc(0);
    const finish = (state: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(`${replies.join(',') || '(no reply)'} [${state}]`);
    };
    const timer = setTimeout(() => finish('open'), 300);
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg])));
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)).toString('hex'));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => undefined);
  });
}

describe('the lab answers hand-made packets with Knot’s octets', { skip }, () => {
  let knot: KnotServer;
  let lab: Lab;
  const results = new Map<string, { knot: [string, string]; lab: [string, string] }>();

  before(async () => {
    [knot, lab] = await Promise.all([startKnot({ zoneFiles: [INTEROP] }), startLab({ zones: [INTEROP] })]);
    await inPool(
      Object.entries(RAW).map(([label, msg]) => async () => {
        const [ku, kt, lu, lt] = await Promise.all([
          udpExchange(knot.port, msg),
          tcpExchange(knot.port, msg),
          udpExchange(lab.dns.port, msg),
          tcpExchange(lab.dns.port, msg),
        ]);
        results.set(label, { knot: [ku, kt], lab: [lu, lt] });
      }),
      8,
    );
  });
  after(async () => {
    await Promise.all([knot?.close(), lab?.close()]);
  });

  for (const label of Object.keys(RAW)) {
    it(`${label}: same reply over UDP and TCP`, () => {
      const r = results.get(label);
      assert.ok(r);
      assert.equal(r.lab[0], r.knot[0], 'UDP');
      assert.equal(r.lab[1], r.knot[1], 'TCP');
    });
  }
});
