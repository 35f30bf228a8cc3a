/**
 * The lab's DNS server on real loopback sockets (RFC 1035 §4.2, RFC 7766), asked by clients that are not
 * ours: ISC dig and Knot's kdig, over UDP and TCP, on 127.0.0.1 and ::1, on free ports.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { isMxError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { parseZone, startDnsServer, startLab } from '../../src/lab/index.js';
import type { Lab } from '../../src/lab/index.js';
import { DIG_SKIP_REASON, dig, digAvailable } from '../helpers/dig.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones/', import.meta.url));
const INTEROP = fileURLToPath(new URL('../fixtures/zones/interop.test.zone', import.meta.url));
const noDig = digAvailable('dig') ? false : DIG_SKIP_REASON('dig');
const noKdig = digAvailable('kdig') ? false : DIG_SKIP_REASON('kdig');

const rdata = (rrs: { rdata: string }[]) => rrs.map((r) => r.rdata);

async function rejects(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isMxError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('the lab answers dig and kdig over UDP and TCP', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab({ zones: [EXAMPLES, INTEROP] });
  });
  after(async () => {
    await lab?.close();
  });

  it('loads a directory’s *.zone files in name order, on 127.0.0.1 and a free port', () => {
    const files = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.zone'))
      .sort();
    assert.deepEqual(
      lab.zones.map((z) => `${z.origin}.zone`),
      [...files, 'interop.test.zone'],
    );
    assert.equal(lab.dns.host, '127.0.0.1');
    assert.ok(lab.dns.port > 0);
  });

  for (const tcp of [false, true]) {
    const transport = tcp ? 'tcp' : 'udp';
    it(`example.com MX, with the exchanges’ addresses (dig, ${transport})`, { skip: noDig }, async () => {
      const r = await dig(lab.dns, 'example.com', 'MX', { tool: 'dig', tcp });
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual([r.flags.aa, r.flags.tc, r.flags.rd, r.flags.ra], [true, false, false, false]);
      assert.deepEqual(rdata(r.answer), ['10 mail1.example.com.', '20 mail2.example.com.', '30 mail3.example.com.']);
      assert.deepEqual(rdata(r.additional), ['127.0.1.1', '127.0.1.2', '127.0.1.3']);
      assert.equal(r.edns?.udpSize, 1232);
      assert.equal(r.size, 154);
    });

    it(`the primer’s other domains (dig, ${transport})`, { skip: noDig }, async () => {
      const ws = await dig(lab.dns, 'workspace.example', 'MX', { tool: 'dig', tcp });
      assert.deepEqual(rdata(ws.answer), [
        '1 aspmx.l.google.com.',
        '5 alt1.aspmx.l.google.com.',
        '5 alt2.aspmx.l.google.com.',
        '10 alt3.aspmx.l.google.com.',
        '10 alt4.aspmx.l.google.com.',
      ]);
      assert.deepEqual(ws.additional, [], 'the exchanges are in another zone');
      const google = await dig(lab.dns, 'alt2.aspmx.l.google.com', 'A', { tool: 'dig', tcp });
      assert.deepEqual(rdata(google.answer), ['127.0.4.3']);
      const m365 = await dig(lab.dns, 'm365.example', 'MX', { tool: 'dig', tcp });
      assert.deepEqual(rdata(m365.answer), ['0 m365-example.mail.protection.outlook.com.']);
      const nullmx = await dig(lab.dns, 'nullmx.example', 'MX', { tool: 'dig', tcp });
      assert.deepEqual(rdata(nullmx.answer), ['0 .']);
      const implicit = await dig(lab.dns, 'implicit.example', 'MX', { tool: 'dig', tcp });
      assert.equal(implicit.rcode, 'NOERROR');
      assert.deepEqual(implicit.answer, []);
      assert.match(implicit.authority[0]?.rdata ?? '', /^ns1\.implicit\.example\. hostmaster\.implicit\.example\. /);
      const aaaa = await dig(lab.dns, 'implicit.example', 'AAAA', { tool: 'dig', tcp });
      assert.deepEqual(rdata(aaaa.answer), ['::1']);
      const spf = await dig(lab.dns, 'example.com', 'TXT', { tool: 'dig', tcp });
      assert.deepEqual(rdata(spf.answer), ['"v=spf1 mx -all"']);
    });

    it(`NXDOMAIN and REFUSED (dig, ${transport})`, { skip: noDig }, async () => {
      const nx = await dig(lab.dns, 'nope.example.com', 'A', { tool: 'dig', tcp });
      assert.equal(nx.rcode, 'NXDOMAIN');
      assert.equal(nx.flags.aa, true);
      assert.equal(nx.authority[0]?.type, 'SOA');
      assert.equal(nx.authority[0]?.ttl, 300);
      const refused = await dig(lab.dns, 'example.org', 'A', { tool: 'dig', tcp });
      assert.equal(refused.rcode, 'REFUSED');
      assert.equal(refused.flags.aa, false);
      assert.equal(refused.edns?.ede, 20);
    });

    it(`kdig sees the same (${transport})`, { skip: noKdig }, async () => {
      const r = await dig(lab.dns, 'roundrobin.example', 'MX', { tcp });
      assert.deepEqual(rdata(r.answer).sort(), [
        '10 mail-asia.roundrobin.example.',
        '10 mail-eu.roundrobin.example.',
        '10 mail-us.roundrobin.example.',
      ]);
      assert.equal(r.additional.length, 3);
      assert.equal(r.transport, transport);
    });
  }

  it('truncates a big answer over UDP and sends it whole over TCP', { skip: noDig }, async () => {
    const udp = await dig(lab.dns, 'big.interop.test', 'MX', { tool: 'dig', bufsize: 512 });
    assert.equal(udp.flags.tc, true);
    assert.deepEqual(udp.answer, []);
    const tcp = await dig(lab.dns, 'big.interop.test', 'MX', { tool: 'dig', tcp: true });
    assert.equal(tcp.flags.tc, false);
    assert.equal(tcp.answer.length, 40);
    assert.equal(tcp.additional.length, 40);
  });
});

describe('the lab on ::1', () => {
  it('answers over UDP and TCP', { skip: noKdig }, async () => {
    const lab = await startLab({ zones: [`${EXAMPLES}nullmx.example.zone`], dns: { host: '::1' } });
    try {
      assert.equal(lab.dns.host, '::1');
      for (const tcp of [false, true]) {
        const r = await dig(lab.dns, 'nullmx.example', 'MX', { tcp });
        assert.deepEqual(rdata(r.answer), ['0 .']);
      }
    } finally {
      await lab.close();
    }
  });
});

describe('the server’s sockets', () => {
  const zone = parseZone('$ORIGIN s.test.\n$TTL 60\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\n');
  const query = (id: number, name = 's.test', type: dnsPacket.RecordType = 'SOA') =>
    dnsPacket.encode({ type: 'query', id, questions: [{ name, type }] });
  const frame = (msg: Buffer) => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

  function connect(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    const messages: dnsPacket.DecodedPacket[] = [];
    const closed = new Promise<void>((res) => socket.on('close', () => res()));
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        messages.push(dnsPacket.decode(pending.subarray(2, 2 + pending.readUInt16BE(0))));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && messages.length < n; i++) await new Promise((r) => setTimeout(r, 5));
      return messages;
    };
    return { socket, messages, closed, until };
  }

  it('TCP: several queries in one write, and one query split across many writes (RFC 7766 §8)', async () => {
    const server = await startDnsServer({ zones: [zone], host: '127.0.0.1', port: 0 });
    try {
      const c = connect(server.port);
      c.socket.write(Buffer.concat([frame(query(1)), frame(query(2, 'ns.s.test', 'A'))]));
      const split = frame(query(3, 'nope.s.test', 'A'));
      for (const byte of split) {
        c.socket.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
      const got = await c.until(3);
      assert.deepEqual(
        got.map((m) => [m.id, (m as unknown as { rcode: string }).rcode, m.answers?.length]),
        [
          [1, 'NOERROR', 1],
          [2, 'NOERROR', 1],
          [3, 'NXDOMAIN', 0],
        ],
      );
      c.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('TCP: garbage or an oversized frame closes the connection; the server goes on', async () => {
    const server = await startDnsServer({ zones: [zone], host: '127.0.0.1', port: 0, maxTcpQueryOctets: 512 });
    try {
      const junk = connect(server.port);
      junk.socket.write(frame(Buffer.from('not dns')));
      await junk.closed;
      const big = connect(server.port);
      big.socket.write(Buffer.from([0x10, 0x00]));
      await big.closed;
      const formerr = connect(server.port);
      formerr.socket.write(frame(Buffer.concat([query(9), Buffer.from([0])])));
      await formerr.closed;
      assert.equal(
        (formerr.messages[0] as unknown as { rcode: string }).rcode,
        'FORMERR',
        'answered, then closed, as Knot',
      );
      const good = connect(server.port);
      good.socket.write(frame(query(4)));
      assert.equal((await good.until(1))[0]?.id, 4);
      good.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('TCP: an idle connection is closed after the timeout', async () => {
    const server = await startDnsServer({ zones: [zone], host: '127.0.0.1', port: 0, tcpIdleTimeoutMs: 100 });
    try {
      const c = connect(server.port);
      const started = Date.now();
      await c.closed;
      assert.ok(Date.now() - started < 2000);
    } finally {
      await server.close();
    }
  });

  it('UDP: malformed packets are dropped and the server keeps answering', async () => {
    const server = await startDnsServer({ zones: [zone], host: '127.0.0.1', port: 0 });
    const socket = dgram.createSocket('udp4');
    try {
      const replies: dnsPacket.DecodedPacket[] = [];
      socket.on('message', (m) => replies.push(dnsPacket.decode(m)));
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      for (const junk of [Buffer.alloc(0), Buffer.from('xx'), Buffer.alloc(600, 0xff), query(5).subarray(0, 15)]) {
        socket.send(junk, server.port, '127.0.0.1');
      }
      socket.send(query(6), server.port, '127.0.0.1');
      for (let i = 0; i < 200 && replies.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        replies.map((m) => m.id),
        [6],
      );
    } finally {
      socket.close();
      await server.close();
    }
  });

  it('close() frees the port, and Symbol.asyncDispose closes too', async () => {
    const lab = await startLab({
      zones: [{ text: '@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1', origin: 'text.test' }],
    });
    assert.deepEqual(
      lab.zones.map((z) => [z.origin, z.file]),
      [['text.test', null]],
    );
    const port = lab.dns.port;
    await lab[Symbol.asyncDispose]();
    const again = await startLab({ zones: [{ text: '@ SOA ns h 1 2 3 4 5', origin: 'text.test' }], dns: { port } });
    assert.equal(again.dns.port, port);
    await again.close();
    await again.close(); // twice is fine
  });
});

describe('startLab refuses what it must', () => {
  const text = { text: '@ SOA ns h 1 2 3 4 5', origin: 'x.test' };

  it('MX_LAB_NOT_LOOPBACK for addresses outside 127.0.0.0/8 and ::1', async () => {
    for (const host of ['0.0.0.0', '10.0.0.1', '::', '::ffff:127.0.0.1', 'example.com']) {
      await rejects(startLab({ zones: [text], dns: { host } }), 'MX_LAB_NOT_LOOPBACK', /loopback only/);
    }
  });

  it('MX_LAB_BIND, naming the address, when the port is taken', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
    const port = holder.address().port;
    try {
      await rejects(
        startLab({ zones: [text], dns: { host: '127.0.0.1', port } }),
        'MX_LAB_BIND',
        new RegExp(`127\\.0\\.0\\.1:${port}/udp`),
      );
    } finally {
      holder.close();
    }
  });

  it('MX_ZONE_CONFLICT for two zones with one origin, MX_ZONE_SYNTAX with file and line', async () => {
    await rejects(
      startLab({ zones: [text, { ...text, file: 'b.zone' }] }),
      'MX_ZONE_CONFLICT',
      /two zones with the origin x\.test/,
    );
    await rejects(
      startLab({ zones: [{ text: '@ SOA ns h 1 2 3 4 5\nmail MX ten mail', origin: 'x.test', file: 'x.zone' }] }),
      'MX_ZONE_SYNTAX',
      /^x\.zone:2: MX record for mail\.x\.test: MX preference "ten" is not a number/,
    );
  });
});
