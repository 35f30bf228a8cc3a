/**
 * `mxray scan` against a lab on loopback: a generated zone of a few hundred domains sharing a pool of mail hosts.
 * Every domain answered once and correctly, invalid lines reported, CSV, resume after SIGKILL (with a torn last
 * line), Ctrl-C, and a lossy path (a UDP proxy that drops 20% of queries).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { labDnsChannel } from '../../src/lab/dns-server.js';
import { nativeDatagramIo } from '../../src/dns/transport/datagram.js';
import { startCli } from '../helpers/cli.js';
import { parseJsonl, scanZone } from '../helpers/scan-zone.js';

const DOMAINS = 300;
const HOSTS = 20;

const { input, zoneText, assertComplete } = scanZone({
  zone: 'scan.test',
  label: 'd',
  domains: DOMAINS,
  hosts: HOSTS,
  hostNet: '127.0.4',
  implicitNet: '127.0.5',
  comment: '# generated for the scan test',
  invalidBefore: (i) => (i % 97 === 50 ? (i % 2 === 0 ? 'bad..name' : 'under score!.test') : undefined),
  upperCase: (i) => i % 13 === 0,
});

const runScan = (args: string[]) => startCli(['scan', ...args]).done;

/** Resolves once `path` holds at least `n` newline-terminated lines. */
async function waitForLines(path: string, n: number, child: ChildProcess): Promise<void> {
  for (;;) {
    let count = 0;
    try {
      count = readFileSync(path, 'utf8').split('\n').length - 1;
    } catch {
      // not created yet
    }
    if (count >= n) return;
    if (child.exitCode !== null) throw new Error(`the scan ended before writing ${n} lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('mxray scan against a lab', () => {
  let lab: Lab;
  let dir: string;
  let inputFile: string;
  const server = () => `${lab.dns.host}:${lab.dns.port}`;

  before(async () => {
    lab = await startLab({ zones: [{ text: zoneText(), origin: 'scan.test.' }] });
    dir = mkdtempSync(join(tmpdir(), 'mxray-scan-'));
    inputFile = join(dir, 'domains.txt');
    writeFileSync(inputFile, input.lines.join('\n') + '\n');
  });
  after(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every domain once and correctly; invalid lines are reported with their numbers', async () => {
    const r = await runScan(['--server', server(), '--concurrency', '16', inputFile]);
    assert.equal(r.code, 0, r.stderr);
    const records = parseJsonl(r.stdout);
    assertComplete(records);
    // One shared cache: each mail host's A and AAAA are asked once for the whole scan, not once per domain.
    const implicit = records.filter((x) => x.implicit).length;
    const sent = records.reduce((n, x) => n + x.queries, 0);
    assert.ok(sent <= input.domainLine.size + 2 * HOSTS + 2 * implicit, `${sent} queries sent`);
    assert.match(r.stderr, new RegExp(`${input.invalid.length} invalid line\\(s\\) skipped.*line ${input.invalid[0]}`));
    assert.match(r.stderr, /deliverable\s+\d+/);
    assert.match(r.stderr, /top exchanges\n {2}mx\d+\.scan\.test/);
    // Every host's addresses asked once and then taken from the cache; nothing lost on the way.
    // (A datagram resent under load is fine; none may run out of time.)
    const dns = /dns: (\d+) queries sent \((?:\d+ resent, )?0 timed out\), (\d+) answered from the cache/.exec(
      r.stderr,
    );
    assert.ok(dns, r.stderr);
    assert.ok(Number(dns[2]) > 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\r/, 'no progress line when stderr is not a TTY');
  });

  it('with --tcp pipelines every query over long-lived TCP connections and gives the same routes', async () => {
    const seen: { transport: string; remote: string }[] = [];
    const note = (m: unknown) => seen.push(m as { transport: string; remote: string });
    labDnsChannel.subscribe(note);
    try {
      const r = await runScan(['--server', server(), '--concurrency', '16', '--tcp', inputFile]);
      assert.equal(r.code, 0, r.stderr);
      assertComplete(parseJsonl(r.stdout));
      assert.match(r.stderr, /dns: \d+ queries sent \((?:\d+ resent, )?0 timed out\)/);
    } finally {
      labDnsChannel.unsubscribe(note);
    }
    assert.ok(seen.length >= input.domainLine.size, `${seen.length} queries reached the lab`);
    assert.deepEqual([...new Set(seen.map((q) => q.transport))], ['tcp']);
    // Hundreds of queries over the pool's two connections, not a connection per query.
    assert.ok(new Set(seen.map((q) => q.remote)).size <= 2, `${new Set(seen.map((q) => q.remote)).size} connections`);
  });

  for (const io of ['dgram', 'native'] as const) {
    it(`gives the same routes with MXRAY_UDP_IO=${io}`, async () => {
      const r = await startCli(['scan', '--server', server(), '--concurrency', '16', inputFile], {
        env: { MXRAY_UDP_IO: io },
      }).done;
      if (io === 'native' && !nativeDatagramIo().available) {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /not available/);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      assertComplete(parseJsonl(r.stdout));
      assert.match(r.stderr, /dns: \d+ queries sent \((?:\d+ resent, )?0 timed out\)/);
    });
  }

  it('names a wrong MXRAY_UDP_IO, and leaves nothing running (with --lab too)', async () => {
    const zones = new URL('../../examples/zones', import.meta.url).pathname;
    for (const where of [
      ['--server', server()],
      ['--lab', zones],
    ]) {
      const r = await startCli(['scan', ...where, inputFile], { env: { MXRAY_UDP_IO: 'fast' }, timeoutMs: 15_000 })
        .done;
      assert.equal(r.code, 2, `${where[0]}: ${r.stderr}`);
      assert.match(r.stderr, /MXRAY_UDP_IO must be native, dgram or auto, not "fast"/);
    }
    // A worker checks it before it starts its lab or connects to Redis (nothing listens on port 1).
    const w = await startCli(['worker', '--queue', 'redis://127.0.0.1:1', '--lab', zones], {
      env: { MXRAY_UDP_IO: 'fast' },
      timeoutMs: 15_000,
    }).done;
    assert.equal(w.code, 2, w.stderr);
    assert.match(w.stderr, /MXRAY_UDP_IO must be/);
  });

  it('reads a CSV column and writes CSV', async () => {
    const csvIn = join(dir, 'in.csv');
    writeFileSync(csvIn, 'id,Domain,note\n1,d0.scan.test,"a, b"\n2,"d7.scan.test",\n3,bad..name,x\n4,d8.scan.test,\n');
    const r = await runScan(['--server', server(), '--format', 'csv', '--column', 'domain', csvIn]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n');
    assert.equal(rows[0], 'domain,outcome,implicit,exchanges,addresses,warnings,error');
    assert.deepEqual(rows.slice(1).sort(), [
      '"3,bad..name,x",,,,,,"invalid domain name ""bad..name"": label 2 is empty"',
      'd0.scan.test,deliverable,false,10 mx0.scan.test;20 mx1.scan.test,127.0.4.1;127.0.4.2,,',
      'd7.scan.test,null-mx,false,,,,',
      'd8.scan.test,deliverable,true,0 d8.scan.test,127.0.5.9,d8.scan.test has no MX record; mail goes to its own address (the implicit MX of RFC 5321 §5.1),',
    ]);
  });

  it('resumes after a SIGKILL at a random point: every domain exactly once, a torn last line cut away', async () => {
    const out = join(dir, 'killed.jsonl');
    const killAfter = 20 + Math.floor(Math.random() * 150);
    const { child, done } = startCli([
      'scan',
      '--server',
      server(),
      '--concurrency',
      '4',
      '--qps',
      '400',
      '--out',
      out,
      inputFile,
    ]);
    await waitForLines(out, killAfter, child);
    child.kill('SIGKILL');
    const killed = await done;
    assert.equal(killed.signal, 'SIGKILL');
    // Whatever the kill left, end the file mid-record as a kill during a write does.
    appendFileSync(out, '{"domain":"d1.scan.test","outcome":"deliv');
    const resumed = await runScan(['--server', server(), '--out', out, '--resume', inputFile]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming: \d+ line\(s\) already in .*torn last line was cut away/);
    assertComplete(parseJsonl(readFileSync(out, 'utf8')));
  });

  it('on SIGINT finishes the domains in flight, flushes, prints the resume command and exits 130', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const { child, done } = startCli(['scan', '--server', server(), '--qps', '200', '--out', out, inputFile]);
    await waitForLines(out, 30, child);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.endsWith('\n'), 'only whole records');
    const partial = parseJsonl(text);
    assert.ok(partial.length < input.domainLine.size + input.invalid.length, 'stopped early');
    assert.equal(new Set(partial.map((p) => p.line)).size, partial.length);
    const hint = /To continue:\n {2}mxray (.*)\n/.exec(r.stderr);
    assert.ok(hint, r.stderr);
    const args = hint[1]!.split(' ');
    assert.ok(args.includes('--resume'));
    assert.equal(args[0], 'scan');
    const resumed = await runScan(args.slice(1));
    assert.equal(resumed.code, 0, resumed.stderr);
    assertComplete(parseJsonl(readFileSync(out, 'utf8')));
  });

  it('through a path that drops 20% of queries, every domain is answered or temp-failure', async () => {
    const proxy = createSocket('udp4');
    // One upstream socket per client socket, so each answer goes back to the socket that asked (query IDs are
    // only unique per socket).
    const upstreams = new Map<string, ReturnType<typeof createSocket>>();
    let dropped = 0;
    proxy.on('message', (msg, rinfo) => {
      if (Math.random() < 0.2) {
        dropped++;
        return;
      }
      const key = `${rinfo.address}|${rinfo.port}`;
      let upstream = upstreams.get(key);
      if (!upstream) {
        upstream = createSocket('udp4');
        upstream.on('message', (reply) => proxy.send(reply, rinfo.port, rinfo.address));
        upstreams.set(key, upstream);
      }
      upstream.send(msg, lab.dns.port, lab.dns.host);
    });
    await new Promise<void>((r) => proxy.bind(0, '127.0.0.1', r));
    try {
      const port = proxy.address().port;
      const r = await runScan([
        '--server',
        `127.0.0.1:${port}`,
        '--timeout',
        '0.2',
        '--tries',
        '3',
        '--concurrency',
        '32',
        inputFile,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assertComplete(parseJsonl(r.stdout), true);
      assert.ok(dropped > 0);
      // The summary counts the datagrams sent again and the questions that went unanswered.
      const dns = /dns: (\d+) queries sent \((?:(\d+) resent, )?(\d+) timed out\)/.exec(r.stderr);
      assert.ok(dns, r.stderr);
      const [resent, timedOut] = [Number(dns[2] ?? 0), Number(dns[3])];
      assert.ok(resent > 0, `${resent} resent, ${dropped} dropped`);
      assert.ok(timedOut <= dropped, `${timedOut} timed out, ${dropped} dropped`);
    } finally {
      proxy.close();
      for (const upstream of upstreams.values()) upstream.close();
    }
  });
});
