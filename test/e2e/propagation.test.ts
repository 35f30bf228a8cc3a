/**
 * `mxray propagation` against labs on loopback standing in for the world: resolvers that still serve the
 * old version of a zone and resolvers that have the new one (labs answer authoritatively; for this purpose
 * that is what a cache holding the record looks like), one that never answers, one that refuses, and the
 * zone's authoritative server at 127.0.23.1, found through the first resolver's NS and A records.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ResolverEntry } from '../../src/dns/propagation.js';
import { checkPropagation } from '../../src/dns/propagation.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';

const AUTH_HOST = '127.0.23.1';

/** prop.test. as of a serial: version 1 has the old MX, version 2 the new one; the rest is the same. */
function zone(version: 1 | 2): string {
  return [
    '$ORIGIN prop.test.',
    '$TTL 300',
    `@ SOA ns1 hostmaster ${version} 7200 3600 1209600 60`,
    '@ NS ns1',
    `ns1 A ${AUTH_HOST}`,
    version === 1 ? '@ MX 10 old-mail' : '@ MX 10 new-mail\n@ MX 20 new-backup',
    '@ TXT "v=spf1 mx -all"',
    'old-mail A 127.0.23.10',
    'new-mail A 127.0.23.20',
    'new-backup A 127.0.23.21',
    '',
  ].join('\n');
}

describe('propagation across lab resolvers and the authoritative server', () => {
  const labs: Lab[] = [];
  let silent: Socket;
  let dir: string;
  let file: string;
  let authPort: number;
  let resolvers: ResolverEntry[];

  before(async () => {
    const lab = async (text: string, host = '127.0.0.1') => {
      const l = await startLab({ zones: [{ text }], dns: { host } });
      labs.push(l);
      return l.dns;
    };
    authPort = (await lab(zone(2), AUTH_HOST)).port;
    const oldA = await lab(zone(1));
    const newA = await lab(zone(2));
    const newB = await lab(zone(2));
    const refusing = await lab('$ORIGIN other.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n');
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    resolvers = [
      { server: oldA, label: 'old-a', country: null },
      { server: newA, label: 'new-a', country: null },
      { server: { host: '127.0.0.1', port: silent.address().port }, label: 'silent', country: null },
      { server: newB, label: 'new-b', country: null },
      { server: refusing, label: 'refusing', country: null },
    ];
    dir = await mkdtemp(join(tmpdir(), 'mxray-propagation-'));
    file = join(dir, 'resolvers.txt');
    await writeFile(
      file,
      '# lab resolvers: ADDRESS:PORT label\n' +
        resolvers.map((r) => `${r.server.host}:${r.server.port} ${r.label}`).join('\n') +
        '\n',
    );
  });
  after(async () => {
    await Promise.all(labs.map((l) => l.close()));
    silent?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    runCli([
      'propagation',
      ...args,
      '--resolvers',
      file,
      '--auth-port',
      String(authPort),
      '--timeout',
      '0.3',
      '--tries',
      '1',
    ]);

  it('--json: groups identical answers, the authoritative one first; lists who disagrees and who failed; exit 1', async () => {
    const r = await cli('prop.test', '--json');
    assert.equal(r.code, 1, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.deepEqual(p.question, { name: 'prop.test', type: 'MX' });
    assert.equal(p.status, 'disagreement');
    assert.equal(p.referenceSource, 'authoritative');
    assert.equal(p.authoritativeAgree, true);
    assert.deepEqual(p.zone, {
      name: 'prop.test',
      nameservers: [{ name: 'ns1.prop.test', addresses: [AUTH_HOST] }],
      error: null,
    });
    const label = (i: number) => p.servers[i].label as string;
    assert.deepEqual(
      p.groups.map((g: { id: number; answer: string[]; members: number[]; reference: boolean }) => [
        g.id,
        g.answer,
        g.members.map(label),
        g.reference,
      ]),
      [
        [1, ['MX 10 new-mail.prop.test.', 'MX 20 new-backup.prop.test.'], ['ns1.prop.test', 'new-a', 'new-b'], true],
        [2, ['MX 10 old-mail.prop.test.'], ['old-a'], false],
      ],
    );
    assert.deepEqual(p.disagreeing.map(label), ['old-a']);
    assert.deepEqual(p.failed.map(label), ['silent', 'refusing']);
    const byLabel = new Map(p.servers.map((s: { label: string }) => [s.label, s]));
    assert.deepEqual(byLabel.get('ns1.prop.test'), {
      ...(byLabel.get('ns1.prop.test') as object),
      role: 'authoritative',
      server: `${AUTH_HOST}:${authPort}`,
      kind: 'answer',
      aa: true,
      ttl: 300,
      group: 1,
      agrees: true,
      error: null,
    });
    assert.deepEqual(
      ['old-a', 'silent', 'refusing'].map((l) => {
        const s = byLabel.get(l) as {
          kind: string;
          group: number | null;
          agrees: boolean | null;
          error: string | null;
        };
        return [l, s.kind, s.group, s.agrees, s.error];
      }),
      [
        ['old-a', 'answer', 2, false, null],
        ['silent', 'timeout', null, null, 'no reply within 300 ms (1 attempts)'],
        ['refusing', 'refused', null, null, 'answered REFUSED'],
      ],
    );
  });

  it('text: the headline, the groups, one aligned line per server', async () => {
    const r = await cli('prop.test');
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^;; prop\.test\. MX: 5 resolvers, 1 authoritative server \(zone prop\.test\.\), \d+ ms$/);
    assert.equal(lines[1], '✖ 1 of 5 resolvers disagree with the authoritative answer');
    assert.ok(lines.includes('#1  authoritative  3 servers  MX 10 new-mail.prop.test., MX 20 new-backup.prop.test.'));
    assert.ok(lines.includes('#2  differs        1 server   MX 10 old-mail.prop.test.'));
    const rows = lines.filter((l) => /^[✔✖?] {2}/.test(l));
    assert.equal(rows.length, 6);
    const col = rows.map((l) => l.indexOf(' ms  '));
    assert.ok(
      col.every((c) => c === col[0]),
      'the time column is aligned',
    );
    assert.ok(rows.some((l) => /^✖ {2}old-a .* #2 {2}ttl 300$/.test(l)));
    assert.ok(rows.some((l) => /^\? {2}silent .* timeout: no reply within 300 ms \(1 attempts\)$/.test(l)));
  });

  it('exit 0 when every answer agrees (a record both versions share)', async () => {
    const r = await cli('prop.test', 'TXT');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[1], '✔ every server that answered agrees with the authoritative answer');
  });

  it('a bad resolver file is bad input: exit 2, naming the file and line', async () => {
    const bad = join(dir, 'bad.txt');
    await writeFile(bad, '127.0.0.1:53 fine\nnot-an-address here\n');
    const r = await runCli(['propagation', 'prop.test', '--resolvers', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.txt:2: "not-an-address" is not an address/);
  });

  it('without the authoritative servers the most common answer is the reference', async () => {
    const p = await checkPropagation(
      { name: 'prop.test', type: 'MX' },
      { resolvers, authoritative: false, timeoutMs: 300, attempts: 1 },
    );
    assert.equal(p.referenceSource, 'majority');
    assert.equal(p.status, 'disagreement');
    assert.deepEqual(
      p.disagreeing.map((i) => p.servers[i]?.label),
      ['old-a'],
    );
    assert.deepEqual(p.zone, { name: null, nameservers: [], error: null });
  });

  it('NXDOMAIN is an answer like any other, and everyone agrees on it', async () => {
    const p = await checkPropagation(
      { name: 'gone.prop.test', type: 'MX' },
      { resolvers, authPort, timeoutMs: 300, attempts: 1 },
    );
    assert.equal(p.status, 'consistent');
    assert.deepEqual(
      p.groups.map((g) => [g.kind, g.members.length, g.reference]),
      [['nxdomain', 4, true]],
    );
  });
});
