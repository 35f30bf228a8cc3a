/**
 * `mxray trace` (RFC 1034 §5.3.3 iterative resolution) through a world of labs on loopback: a lab as the
 * root at 127.0.22.1, one as the `test.` TLD at 127.0.22.2, the leaf zones at 127.0.22.3 (and 127.0.22.4),
 * all on one port, so `--root 127.0.22.1 --port P` reaches every server the referrals name.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { traceName } from '../../src/dns/trace.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { runCli } from '../helpers/cli.js';

const DIR = fileURLToPath(new URL('../fixtures/trace/', import.meta.url));
const ROOT = `${DIR}root.zone`;
const TLD = `${DIR}test.zone`;
const LEAVES = [`${DIR}trace.test.zone`, `${DIR}noglue.test.zone`];

/** Servers on several loopback addresses sharing one free port (retried if another address has it taken). */
async function startWorld(
  servers: { host: string; zones?: string[] }[],
): Promise<{ port: number; labs: Lab[]; silent: Socket[] }> {
  for (let attempt = 0; ; attempt++) {
    const labs: Lab[] = [];
    const silent: Socket[] = [];
    try {
      let port = 0;
      for (const s of servers) {
        if (s.zones) {
          const lab = await startLab({ zones: s.zones, dns: { host: s.host, port } });
          port = lab.dns.port;
          labs.push(lab);
        } else {
          // Receives queries and never answers: a nameserver that is down.
          const socket = createSocket('udp4');
          await new Promise<void>((resolve, reject) => {
            socket.once('error', reject);
            socket.bind(port, s.host, () => resolve());
          });
          silent.push(socket);
        }
      }
      return { port, labs, silent };
    } catch (err) {
      await Promise.all(labs.map((l) => l.close()));
      for (const s of silent) s.close();
      if (attempt >= 4) throw err;
    }
  }
}

describe('trace through a lab root, TLD and leaf', () => {
  let world: Awaited<ReturnType<typeof startWorld>>;
  before(async () => {
    world = await startWorld([
      { host: '127.0.22.1', zones: [ROOT] },
      { host: '127.0.22.2', zones: [TLD] },
      { host: '127.0.22.3', zones: LEAVES },
    ]);
  });
  after(async () => {
    await Promise.all(world.labs.map((l) => l.close()));
  });
  const trace = (name: string, type: 'A' | 'MX' = 'A') =>
    traceName(
      { name, type },
      { roots: [{ host: '127.0.22.1', name: 'a.root.test' }], port: world.port, timeoutMs: 500 },
    );

  it('--json: root → test. → trace.test., each step with server, zone, referral or answer, rcode and time', async () => {
    const r = await runCli([
      'trace',
      'www.trace.test',
      'A',
      '--root',
      `127.0.22.1:${world.port}`,
      '--port',
      String(world.port),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout);
    assert.equal(t.outcome, 'answer');
    assert.equal(t.reason, null);
    assert.deepEqual(t.answer, [{ name: 'mail.trace.test', type: 'A', ttl: 3600, data: '127.0.22.25' }]);
    assert.deepEqual(t.cnames, [{ name: 'www.trace.test', target: 'mail.trace.test', ttl: 3600 }]);
    assert.deepEqual(
      t.steps.map((s: { zone: string; server: unknown; kind: string; rcode: string; aa: boolean }) => [
        s.zone,
        s.server,
        s.kind,
        s.rcode,
        s.aa,
      ]),
      [
        ['', { name: null, address: '127.0.22.1', port: world.port }, 'referral', 'NOERROR', false],
        ['test', { name: 'a.tld.test', address: '127.0.22.2', port: world.port }, 'referral', 'NOERROR', false],
        ['trace.test', { name: 'ns1.trace.test', address: '127.0.22.3', port: world.port }, 'answer', 'NOERROR', true],
      ],
    );
    assert.deepEqual(t.steps[1].referral, {
      zone: 'trace.test',
      nameservers: [
        { name: 'ns1.trace.test', addresses: ['127.0.22.3'] },
        { name: 'ns2.trace.test', addresses: ['127.0.22.4'] },
      ],
    });
    for (const s of t.steps) {
      assert.equal(typeof s.elapsedMs, 'number');
      assert.deepEqual(s.question, { name: 'www.trace.test', type: 'A' });
      assert.equal(s.depth, 0);
    }
  });

  it('text: one aligned line per step, then the outcome', async () => {
    const r = await runCli(['trace', 'www.noglue.test', 'a', '--root', '127.0.22.1', '--port', String(world.port)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], ';; www.noglue.test. A: iterative from the root, 6 queries');
    const steps = lines.slice(1, 7);
    assert.ok(steps.every((l, i) => l.startsWith(`${i + 1}  `)));
    const col = steps.map((l) => l.search(/ (referral|answer) /));
    assert.ok(
      col.every((c) => c === col[0]),
      'the result column is aligned',
    );
    assert.match(steps[1]!, /noglue\.test\. → ns\.trace\.test\. \(no glue\)$/);
    assert.match(steps[2]!, /↳ ns\.trace\.test\. A \. /);
    assert.equal(lines.at(-1), '✔ www.noglue.test. A: 127.0.22.80');
  });

  it('exit 1 for NXDOMAIN and NODATA; exit 3 for a lame delegation; exit 2 for bad input', async () => {
    const common = ['--root', '127.0.22.1', '--port', String(world.port), '--json'];
    const nx = await runCli(['trace', 'nx.trace.test', ...common]); // MX by default
    assert.equal(nx.code, 1, nx.stderr);
    assert.equal(JSON.parse(nx.stdout).outcome, 'nxdomain');
    const lame = await runCli(['trace', 'x.lame.test', 'MX', ...common]);
    assert.equal(lame.code, 3, lame.stderr);
    assert.equal(JSON.parse(lame.stdout).outcome, 'lame');
    const bad = await runCli(['trace', 'a..b', '--root', 'ns.example']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid domain name/);
  });

  it('a nameserver without glue is found by a trace of its own, one level deeper', async () => {
    const t = await trace('www.noglue.test');
    assert.equal(t.kind, 'answer');
    assert.deepEqual(
      t.steps.map((s) => [s.depth, s.question.name, s.zone, s.kind]),
      [
        [0, 'www.noglue.test', '', 'referral'],
        [0, 'www.noglue.test', 'test', 'referral'],
        [1, 'ns.trace.test', '', 'referral'],
        [1, 'ns.trace.test', 'test', 'referral'],
        [1, 'ns.trace.test', 'trace.test', 'answer'],
        [0, 'www.noglue.test', 'noglue.test', 'answer'],
      ],
    );
    assert.deepEqual(t.steps[1]!.referral?.nameservers, [{ name: 'ns.trace.test', addresses: [] }]);
  });

  it('a CNAME leaving the zone restarts at the root (§5.3.3); the chain ends in NODATA', async () => {
    const t = await trace('out.trace.test', 'MX');
    assert.equal(t.kind, 'nodata');
    assert.deepEqual(t.cnames, [{ name: 'out.trace.test', target: 'www.noglue.test', ttl: 3600 }]);
    assert.deepEqual(
      t.steps.filter((s) => s.depth === 0).map((s) => [s.question.name, s.zone, s.kind]),
      [
        ['out.trace.test', '', 'referral'],
        ['out.trace.test', 'test', 'referral'],
        ['out.trace.test', 'trace.test', 'cname'],
        ['www.noglue.test', '', 'referral'],
        ['www.noglue.test', 'test', 'referral'],
        ['www.noglue.test', 'noglue.test', 'nodata'],
      ],
    );
  });

  it('loops stop: a CNAME loop across zones, and a glueless nameserver inside the zone it serves', async () => {
    const cname = await trace('loop.trace.test');
    assert.equal(cname.kind, 'loop');
    assert.equal(cname.reason, 'the CNAME chain comes back: loop.trace.test. → loop.noglue.test. → loop.trace.test.');
    const selfish = await trace('x.selfish.test');
    assert.equal(selfish.kind, 'loop');
    assert.match(
      selfish.reason ?? '',
      /no address for nameserver ns\.selfish\.test\.: finding ns\.selfish\.test\. needs ns\.selfish\.test\. itself/,
    );
    assert.equal(selfish.steps.length, 4);
  });

  it('a lame server: the referral leads back to its own zone (RFC 1912 §2.8)', async () => {
    const t = await trace('x.lame.test', 'MX');
    assert.equal(t.kind, 'lame');
    assert.deepEqual(t.steps.at(-1)?.server, { name: 'ns.lame.test', address: '127.0.22.2', port: world.port });
    assert.equal(
      t.steps.at(-1)?.note,
      'refers to lame.test., which does not lead below lame.test. towards x.lame.test.',
    );
  });
});

describe('trace when a nameserver is down', () => {
  let world: Awaited<ReturnType<typeof startWorld>>;
  before(async () => {
    world = await startWorld([
      { host: '127.0.22.1', zones: [ROOT] },
      { host: '127.0.22.2', zones: [TLD] },
      { host: '127.0.22.3' }, // ns1.trace.test: silent
      { host: '127.0.22.4', zones: LEAVES }, // ns2.trace.test
    ]);
  });
  after(async () => {
    await Promise.all(world.labs.map((l) => l.close()));
    for (const s of world.silent) s.close();
  });

  it('the step times out and the next nameserver of the zone answers', async () => {
    const t = await traceName(
      { name: 'mail.trace.test', type: 'A' },
      { roots: [{ host: '127.0.22.1' }], port: world.port, timeoutMs: 200 },
    );
    assert.equal(t.kind, 'answer');
    assert.deepEqual(
      t.steps.map((s) => [s.zone, s.server.address, s.kind, s.note]),
      [
        ['', '127.0.22.1', 'referral', null],
        ['test', '127.0.22.2', 'referral', null],
        ['trace.test', '127.0.22.3', 'timeout', 'no reply within 200 ms'],
        ['trace.test', '127.0.22.4', 'answer', null],
      ],
    );
    assert.ok(t.steps[2]!.elapsedMs >= 190);
  });
});
