import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import type { PropagationAskFn, ServerAnswer } from './propagation.js';
import { PUBLIC_RESOLVERS, checkPropagation, compareAnswers, parseResolverList } from './propagation.js';
import type { QueryOutcome } from './resolver.js';
import type { DnsQuestion, DnsRecord, DnsResponse, RecordType } from './types.js';

describe('parseResolverList', () => {
  it('reads ADDRESS[:PORT] [label], comments and blank lines', () => {
    const list = parseResolverList('# lab resolvers\n127.0.0.1:5301 old cache\n\n[::1]:5302\n127.0.0.2  # no label\n');
    assert.deepEqual(list, [
      { server: { host: '127.0.0.1', port: 5301 }, label: 'old cache', country: null },
      { server: { host: '::1', port: 5302 }, label: '[::1]:5302', country: null },
      { server: { host: '127.0.0.2', port: 53 }, label: '127.0.0.2:53', country: null },
    ]);
  });

  it('names the file and line of a bad entry; refuses a list with none', () => {
    assert.throws(() => parseResolverList('127.0.0.1\nresolver.example\n', 'r.txt'), {
      code: 'MX_INVALID_ARGUMENT',
      message: 'r.txt:2: "resolver.example" is not an address',
    });
    assert.throws(() => parseResolverList('127.0.0.1:99999\n', 'r.txt'), { message: /^r\.txt:1: invalid server/ });
    assert.throws(() => parseResolverList('# nothing\n', 'r.txt'), { message: 'r.txt lists no resolver' });
  });

  it('the built-in public list is well-formed data (addresses, labels, countries)', () => {
    assert.ok(PUBLIC_RESOLVERS.length >= 20);
    for (const r of PUBLIC_RESOLVERS) {
      assert.match(r.server.host, /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(r.server.port, 53);
      assert.match(r.country ?? '', /^[A-Z]{2}$/);
    }
    assert.equal(new Set(PUBLIC_RESOLVERS.map((r) => r.server.host)).size, PUBLIC_RESOLVERS.length);
  });
});

function server(
  role: ServerAnswer['role'],
  label: string,
  kind: ServerAnswer['kind'],
  answer: string[] = [],
): ServerAnswer {
  return {
    role,
    label,
    country: null,
    server: `${label}:53`,
    kind,
    rcode: kind === 'timeout' ? null : 'NOERROR',
    aa: role === 'authoritative',
    answer,
    records: [],
    ttl: answer.length > 0 ? 300 : null,
    elapsedMs: 1,
    error: null,
  };
}

describe('compareAnswers', () => {
  const NEW = ['MX 10 new.example.'];
  const OLD = ['MX 10 old.example.'];

  it('groups identical sets, the authoritative one first; others disagree; failures belong to no group', () => {
    const c = compareAnswers([
      server('authoritative', 'ns1', 'answer', NEW),
      server('authoritative', 'ns2', 'answer', NEW),
      server('resolver', 'r1', 'answer', OLD),
      server('resolver', 'r2', 'answer', NEW),
      server('resolver', 'r3', 'answer', OLD),
      server('resolver', 'r4', 'timeout'),
      server('resolver', 'r5', 'nxdomain'),
    ]);
    assert.equal(c.status, 'disagreement');
    assert.equal(c.referenceSource, 'authoritative');
    assert.equal(c.authoritativeAgree, true);
    assert.deepEqual(
      c.groups.map((g) => [g.id, g.kind, g.answer, g.members, g.reference]),
      [
        [1, 'answer', NEW, [0, 1, 3], true],
        [2, 'answer', OLD, [2, 4], false],
        [3, 'nxdomain', [], [6], false],
      ],
    );
    assert.deepEqual(c.groupOf, [1, 1, 2, 1, 2, null, 3]);
    assert.deepEqual(c.disagreeing, [2, 4, 6]);
    assert.deepEqual(c.failed, [5]);
  });

  it('consistent when every answer matches; authoritative servers that differ are a disagreement', () => {
    const ok = compareAnswers([
      server('authoritative', 'ns1', 'nodata'),
      server('resolver', 'r1', 'nodata'),
      server('resolver', 'r2', 'servfail'),
    ]);
    assert.equal(ok.status, 'consistent');
    const split = compareAnswers([
      server('authoritative', 'ns1', 'answer', NEW),
      server('authoritative', 'ns2', 'answer', OLD),
      server('authoritative', 'ns3', 'answer', NEW),
    ]);
    assert.equal(split.status, 'disagreement');
    assert.equal(split.authoritativeAgree, false);
    assert.deepEqual(split.disagreeing, [1]);
  });

  it('without an authoritative answer, the largest resolver group is the reference; nothing usable is no-answer', () => {
    const c = compareAnswers([
      server('resolver', 'r1', 'answer', OLD),
      server('resolver', 'r2', 'answer', NEW),
      server('resolver', 'r3', 'answer', NEW),
    ]);
    assert.equal(c.referenceSource, 'majority');
    assert.deepEqual(c.disagreeing, [0]);
    const none = compareAnswers([server('resolver', 'r1', 'timeout'), server('authoritative', 'ns', 'referral')]);
    assert.equal(none.status, 'no-answer');
    assert.equal(none.referenceSource, null);
    assert.deepEqual(none.failed, [0, 1]);
  });
});

const rec = (name: string, type: RecordType, data: unknown, ttl = 300): DnsRecord => ({
  name,
  type,
  class: 'IN',
  ttl,
  data,
});
const SOA = rec('example', 'SOA', { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 });

function response(
  q: DnsQuestion,
  parts: Partial<Pick<DnsResponse, 'rcode' | 'answers' | 'authority'>> & { aa?: boolean },
): DnsResponse {
  return {
    id: 1,
    rcode: parts.rcode ?? 'NOERROR',
    flags: { qr: true, aa: parts.aa ?? true, tc: false, rd: true, ra: true, ad: false, cd: false },
    question: q,
    answers: parts.answers ?? [],
    authority: parts.authority ?? [],
    additional: [],
    ednsUdpSize: null,
    size: 0,
  };
}

describe('checkPropagation (driver, no sockets)', () => {
  it('finds the zone through the SOA of a negative answer, asks its nameservers with RD clear, compares', async () => {
    const calls: string[] = [];
    const ask: PropagationAskFn = async (s, q, o) => {
      await setImmediate(); // a reply arrives later, as from a socket
      calls.push(`${s.host}:${s.port} ${q.name} ${q.type} rd=${o.recursionDesired}`);
      const prov = { server: `${s.host}:${s.port}`, transport: 'udp' as const, attempts: 1, elapsedMs: 1, dropped: [] };
      const ok = (r: DnsResponse): QueryOutcome => ({ ...prov, kind: 'response', response: r });
      if (s.host === '127.0.0.1') {
        if (q.type === 'NS' && q.name === 'mail.example') return ok(response(q, { authority: [SOA] }));
        if (q.type === 'NS') return ok(response(q, { answers: [rec('example', 'NS', 'ns.example')] }));
        if (q.name === 'ns.example') return ok(response(q, { answers: [rec('ns.example', 'A', '127.0.0.53')] }));
        // The name is a CNAME to a name that does not exist: compared as the CNAME.
        return ok(
          response(q, { rcode: 'NXDOMAIN', answers: [rec('mail.example', 'CNAME', 'gone.example')], authority: [SOA] }),
        );
      }
      if (s.host === '127.0.0.53')
        return ok(response(q, { answers: [rec('mail.example', 'CNAME', 'gone.example', 60)] }));
      return { ...prov, kind: 'timeout', timeoutMs: 100 };
    };
    const p = await checkPropagation(
      { name: 'mail.example', type: 'A' },
      {
        resolvers: [
          { server: { host: '127.0.0.1', port: 5301 }, label: 'first', country: null },
          { server: { host: '127.0.0.2', port: 5302 }, label: 'silent', country: null },
        ],
        authPort: 5353,
        ask,
      },
    );
    assert.deepEqual(p.zone, {
      name: 'example',
      nameservers: [{ name: 'ns.example', addresses: ['127.0.0.53'] }],
      error: null,
    });
    assert.ok(calls.includes('127.0.0.53:5353 mail.example A rd=false'));
    assert.ok(calls.includes('127.0.0.1:5301 mail.example A rd=true'));
    assert.deepEqual(
      p.servers.map((s) => [s.role, s.label, s.kind, s.answer, s.ttl]),
      [
        ['authoritative', 'ns.example', 'answer', ['CNAME gone.example.'], 60],
        ['resolver', 'first', 'answer', ['CNAME gone.example.'], 300],
        ['resolver', 'silent', 'timeout', [], null],
      ],
    );
    assert.equal(p.status, 'consistent');
    assert.deepEqual(p.failed, [2]);
  });
});
