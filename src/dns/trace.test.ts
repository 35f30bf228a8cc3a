import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import type { QueryOutcome } from './resolver.js';
import type { AskFn } from './trace.js';
import { ROOT_HINTS, interpretReply, traceName } from './trace.js';
import type { DnsQuestion, DnsRecord, DnsResponse, RecordType } from './types.js';

const rec = (name: string, type: RecordType, data: unknown, ttl = 300): DnsRecord => ({
  name,
  type,
  class: 'IN',
  ttl,
  data,
});

function reply(
  q: DnsQuestion,
  parts: { rcode?: string; aa?: boolean; answers?: DnsRecord[]; authority?: DnsRecord[]; additional?: DnsRecord[] },
): DnsResponse {
  return {
    id: 1,
    rcode: parts.rcode ?? 'NOERROR',
    flags: { qr: true, aa: parts.aa ?? false, tc: false, rd: false, ra: false, ad: false, cd: false },
    question: q,
    answers: parts.answers ?? [],
    authority: parts.authority ?? [],
    additional: parts.additional ?? [],
    ednsUdpSize: 1232,
    size: 100,
  };
}

const SOA = rec('example', 'SOA', { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 });

describe('interpretReply (RFC 1034 §4.3.2, §5.3.3; RFC 2181 §5.4.1)', () => {
  const q = { name: 'www.example', type: 'A' as const };
  const opts = { ipv6: false };

  it('a referral below the zone, with glue for in-bailiwick names only', () => {
    const r = reply(q, {
      authority: [rec('example', 'NS', 'ns1.example'), rec('example', 'NS', 'ns.elsewhere')],
      additional: [
        rec('ns1.example', 'A', '192.0.2.1'),
        rec('ns1.example', 'AAAA', '2001:db8::1'),
        rec('ns.elsewhere', 'A', '192.0.2.66'),
      ],
    });
    assert.deepEqual(interpretReply(r, q.name, q.type, '', opts), {
      kind: 'referral',
      zone: 'example',
      nameservers: [
        { name: 'ns1.example', addresses: ['192.0.2.1'] },
        { name: 'ns.elsewhere', addresses: ['192.0.2.66'] },
      ],
    });
    // Asked as the server of 'example.' (say), glue for ns.elsewhere is out of bailiwick and ignored.
    const sub = { name: 'a.b.example', type: 'A' as const };
    const deeper = reply(sub, {
      authority: [rec('b.example', 'NS', 'ns.elsewhere'), rec('b.example', 'NS', 'ns.b.example')],
      additional: [rec('ns.elsewhere', 'A', '192.0.2.66'), rec('ns.b.example', 'A', '192.0.2.2')],
    });
    assert.deepEqual(interpretReply(deeper, sub.name, sub.type, 'example', { ipv6: true }), {
      kind: 'referral',
      zone: 'b.example',
      nameservers: [
        { name: 'ns.elsewhere', addresses: [] },
        { name: 'ns.b.example', addresses: ['192.0.2.2'] },
      ],
    });
  });

  it('a referral to the same zone, upwards or sideways is lame (RFC 1912 §2.8)', () => {
    const same = reply(q, { authority: [rec('example', 'NS', 'ns1.example')] });
    assert.equal(interpretReply(same, q.name, q.type, 'example', opts).kind, 'lame');
    const up = reply(q, { authority: [rec('', 'NS', 'a.root')] });
    assert.equal(interpretReply(up, q.name, q.type, 'example', opts).kind, 'lame');
    const sideways = reply(q, { authority: [rec('other', 'NS', 'ns.other')] });
    assert.deepEqual(interpretReply(sideways, q.name, q.type, '', opts), {
      kind: 'lame',
      note: 'refers to other., which does not lead below . towards www.example.',
    });
  });

  it('answers, CNAMEs that leave the reply, negative answers and error rcodes', () => {
    const a = reply(q, { aa: true, answers: [rec('www.example', 'A', '192.0.2.80')] });
    assert.equal(interpretReply(a, q.name, q.type, 'example', opts).kind, 'answer');
    const c = reply(q, { aa: true, answers: [rec('www.example', 'CNAME', 'web.other')] });
    assert.deepEqual(interpretReply(c, q.name, q.type, 'example', opts), {
      kind: 'cname',
      target: 'web.other',
      cnames: [{ name: 'www.example', target: 'web.other', ttl: 300 }],
    });
    const nx = reply(q, { aa: true, rcode: 'NXDOMAIN', authority: [SOA] });
    assert.equal(interpretReply(nx, q.name, q.type, 'example', opts).kind, 'nxdomain');
    const nodata = reply(q, { aa: true, authority: [SOA] });
    assert.equal(interpretReply(nodata, q.name, q.type, 'example', opts).kind, 'nodata');
    assert.deepEqual(interpretReply(reply(q, { rcode: 'SERVFAIL' }), q.name, q.type, 'example', opts), {
      kind: 'server-error',
      rcode: 'SERVFAIL',
    });
  });
});

/** A world of servers as functions of the question, with every query recorded. */
function fakeWorld(servers: Record<string, (q: DnsQuestion) => DnsResponse | 'timeout'>) {
  const calls: string[] = [];
  const ask: AskFn = async (server, question, options) => {
    options.signal?.throwIfAborted();
    await setImmediate(); // a reply arrives later, as from a socket
    calls.push(`${server.host}:${server.port} ${question.name || '.'} ${question.type}`);
    const handler = servers[server.host];
    const out = handler ? handler(question) : 'timeout';
    const prov = {
      server: `${server.host}:${server.port}`,
      transport: 'udp' as const,
      attempts: 1,
      elapsedMs: 1,
      dropped: [],
    };
    if (out === 'timeout') return { ...prov, kind: 'timeout', timeoutMs: options.timeoutMs } satisfies QueryOutcome;
    return { ...prov, kind: 'response', response: out } satisfies QueryOutcome;
  };
  return { ask, calls };
}

const referral = (zone: string, ns: string, address: string | null) => (q: DnsQuestion) =>
  reply(q, { authority: [rec(zone, 'NS', ns)], additional: address ? [rec(ns, 'A', address)] : [] });

describe('traceName (driver, no sockets)', () => {
  it('starts at the root hints on port 53 and falls back to the next root on a timeout', async () => {
    const { ask, calls } = fakeWorld({
      [ROOT_HINTS[1]!.address]: referral('example', 'ns.example', '192.0.2.1'),
      '192.0.2.1': (q) => reply(q, { aa: true, answers: [rec('www.example', 'A', '192.0.2.80')] }),
    });
    const t = await traceName({ name: 'www.example', type: 'A' }, { ask, timeoutMs: 50 });
    assert.equal(t.kind, 'answer');
    assert.deepEqual(calls, [
      `${ROOT_HINTS[0]!.address}:53 www.example A`,
      `${ROOT_HINTS[1]!.address}:53 www.example A`,
      '192.0.2.1:53 www.example A',
    ]);
    assert.deepEqual(
      t.steps.map((s) => [s.step, s.zone, s.server.name, s.kind]),
      [
        [1, '', 'a.root-servers.net', 'timeout'],
        [2, '', 'b.root-servers.net', 'referral'],
        [3, 'example', 'ns.example', 'answer'],
      ],
    );
    assert.equal(t.steps[0]!.note, 'no reply within 50 ms');
  });

  it('a root given with a port keeps it; learned servers use the port option', async () => {
    const { ask, calls } = fakeWorld({
      '127.0.0.9': referral('example', 'ns.example', '127.0.0.10'),
      '127.0.0.10': (q) => reply(q, { aa: true, authority: [SOA], rcode: 'NXDOMAIN' }),
    });
    const t = await traceName(
      { name: 'nx.example', type: 'MX' },
      { ask, roots: [{ host: '127.0.0.9', port: 5300 }], port: 5400 },
    );
    assert.equal(t.kind, 'nxdomain');
    assert.deepEqual(calls, ['127.0.0.9:5300 nx.example MX', '127.0.0.10:5400 nx.example MX']);
  });

  it('every server of a zone silent: unreachable, with each timeout a step', async () => {
    const { ask } = fakeWorld({
      '127.0.0.9': (q) =>
        reply(q, {
          authority: [rec('example', 'NS', 'a.ns.example'), rec('example', 'NS', 'b.ns.example')],
          additional: [rec('a.ns.example', 'A', '127.0.0.20'), rec('b.ns.example', 'A', '127.0.0.21')],
        }),
    });
    const t = await traceName({ name: 'example', type: 'MX' }, { ask, roots: [{ host: '127.0.0.9' }] });
    assert.equal(t.kind, 'unreachable');
    assert.deepEqual(
      t.steps.map((s) => s.kind),
      ['referral', 'timeout', 'timeout'],
    );
    assert.match(
      t.reason ?? '',
      /^a\.ns\.example \(127\.0\.0\.20\): no reply within 2000 ms \(and 1 more server failure\)$/,
    );
  });

  it('stops at the step budget in an endless chain of delegations', async () => {
    let n = 0;
    const { ask } = fakeWorld({
      // Each answer refers one label deeper, to a new server: progress every time, but never an answer.
      '127.0.0.9': (q) => {
        n++;
        const labels = q.name.split('.');
        const zone = labels.slice(-Math.min(n, labels.length - 1)).join('.');
        return reply(q, {
          authority: [rec(zone, 'NS', `ns.${zone}`)],
          additional: [rec(`ns.${zone}`, 'A', '127.0.0.9')],
        });
      },
    });
    const t = await traceName(
      { name: 'a.b.c.d.e.f.g.h.example', type: 'A' },
      { ask, roots: [{ host: '127.0.0.9' }], maxSteps: 4 },
    );
    assert.equal(t.kind, 'step-limit');
    assert.equal(t.steps.length, 4);
    assert.equal(t.reason, 'stopped after 4 queries');
  });

  it("the caller's abort throws", async () => {
    const { ask } = fakeWorld({});
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(traceName({ name: 'example', type: 'A' }, { ask, signal: controller.signal }), /stop/);
  });
});
