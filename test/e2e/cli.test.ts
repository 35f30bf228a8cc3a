/**
 * The commands as a user meets them: `mxray lookup`, `route`, `lab` and `demo`, their JSON contracts, text
 * output and exit codes, against the lab on loopback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createResolver } from '../../src/dns/resolver.js';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { startScriptedDns } from '../helpers/scripted-dns.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones', import.meta.url));

describe('mxray --version', () => {
  it('prints the version of package.json, with -V too', async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });
});

describe('mxray route', () => {
  it('prints the route contract as JSON (--lab, --seed)', async () => {
    const r = await runCli(['route', 'example.com', '--lab', EXAMPLES, '--json', '--seed', '1']);
    assert.equal(r.code, 0, r.stderr);
    const route = JSON.parse(r.stdout);
    assert.equal(route.domain, 'example.com');
    assert.equal(route.outcome, 'deliverable');
    assert.equal(route.implicit, false);
    assert.deepEqual(
      route.hosts.map((h: { preference: number; exchange: string }) => [h.preference, h.exchange]),
      [
        [10, 'mail1.example.com'],
        [20, 'mail2.example.com'],
        [30, 'mail3.example.com'],
      ],
    );
    for (const h of route.hosts) {
      assert.ok(Array.isArray(h.addresses) && h.addresses.length > 0);
      assert.ok(h.addresses.every((a: string) => a.startsWith('127.') || a === '::1'));
    }
    assert.deepEqual(route.warnings, []);
  });

  it('prints an aligned table and exits 1 for a null MX', async () => {
    const ok = await runCli(['route', 'workspace.example', '--lab', EXAMPLES, '--seed', '3']);
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.split('\n');
    assert.match(lines[0]!, /^✔ workspace\.example: deliverable: 5 exchanges in attempt order$/);
    const table = lines.filter((l) => /^\s+\d+\s+\d+\s+\S+google\.com/.test(l));
    assert.equal(table.length, 5);
    const col = table.map((l) => l.indexOf('127.'));
    assert.ok(
      col.every((c) => c === col[0]),
      'the address column is aligned',
    );
    assert.doesNotMatch(ok.stdout, /\x1b\[/, 'no colour when NO_COLOR is set and stdout is not a TTY');

    const nul = await runCli(['route', 'nullmx.example', '--lab', EXAMPLES]);
    assert.equal(nul.code, 1);
    assert.match(nul.stdout, /accepts no mail \(null MX, RFC 7505\)/);
  });

  it('colours only when asked to (FORCE_COLOR)', async () => {
    const r = await runCli(['route', 'example.com', '--lab', EXAMPLES], { NO_COLOR: '', FORCE_COLOR: '1' });
    assert.match(r.stdout, /\x1b\[/);
  });

  it('exits 2 with a clear message for an invalid name, before any query', async () => {
    const r = await runCli(['route', 'exa mple..com', '--server', '127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid domain name "exa mple\.\.com"/);
    assert.match(r.stderr, /MX_INVALID_NAME/);
  });

  it('exits 75 (temporary failure) when the server is silent, within the timeout', async () => {
    const silent = await startScriptedDns(() => []);
    after(() => silent.close());
    const r = await runCli([
      'route',
      'example.com',
      '--server',
      `127.0.0.1:${silent.port}`,
      '--timeout',
      '0.3',
      '--tries',
      '2',
      '--json',
    ]);
    assert.equal(r.code, 75);
    const route = JSON.parse(r.stdout);
    assert.equal(route.outcome, 'temp-failure');
    assert.equal(silent.queries.length, 2);
  });

  it('prunes with --as', async () => {
    const r = await runCli(['route', 'example.com', '--lab', EXAMPLES, '--as', 'mail2.example.com', '--json']);
    assert.equal(r.code, 0);
    const route = JSON.parse(r.stdout);
    assert.deepEqual(
      route.hosts.map((h: { exchange: string }) => h.exchange),
      ['mail1.example.com'],
    );
  });
});

describe('mxray lookup against a running lab', () => {
  let lab: Lab;
  let lab6: Lab;
  before(async () => {
    lab = await startLab({ zones: [EXAMPLES] });
    lab6 = await startLab({ zones: [EXAMPLES], dns: { host: '::1', port: 0 } });
  });
  after(async () => {
    await lab?.close();
    await lab6?.close();
  });

  it('prints the lookup contract as JSON (--server)', async () => {
    const r = await runCli(['lookup', 'example.com', '--server', `127.0.0.1:${lab.dns.port}`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.question, { name: 'example.com', type: 'MX' });
    assert.equal(out.rcode, 'NOERROR');
    assert.equal(out.flags.aa, true);
    assert.equal(out.flags.qr, true);
    assert.deepEqual(
      out.answers
        .map((a: { data: { preference: number; exchange: string } }) => a.data)
        .sort((a: { preference: number }, b: { preference: number }) => a.preference - b.preference),
      [
        { preference: 10, exchange: 'mail1.example.com' },
        { preference: 20, exchange: 'mail2.example.com' },
        { preference: 30, exchange: 'mail3.example.com' },
      ],
    );
    assert.ok(
      out.answers.every(
        (a: { ttl: number; type: string; name: string }) => a.ttl > 0 && a.type === 'MX' && a.name === 'example.com',
      ),
    );
  });

  it('reaches an IPv6 server written as [::1]:PORT, over TCP', async () => {
    const r = await runCli([
      'lookup',
      'mail1.example.com',
      'A',
      '--server',
      `[::1]:${lab6.dns.port}`,
      '--tcp',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.transport, 'tcp');
    assert.equal(out.server, `[::1]:${lab6.dns.port}`);
    assert.match(out.answers[0].data, /^127\./);
  });

  it('shows NXDOMAIN with the SOA in the authority section, exit 1', async () => {
    const r = await runCli(['lookup', 'nowhere.example.com', 'A', '--server', `127.0.0.1:${lab.dns.port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /NXDOMAIN/);
    assert.match(r.stdout, /;; AUTHORITY\nexample\.com\.\s+\d+\s+IN\s+SOA\s+/);
  });

  it('prints zone-file lines in aligned columns', async () => {
    const r = await runCli(['lookup', 'workspace.example', '--server', `127.0.0.1:${lab.dns.port}`]);
    assert.equal(r.code, 0);
    const answer = r.stdout.split(';; ANSWER\n')[1]!.split('\n\n')[0]!.split('\n').filter(Boolean);
    assert.equal(answer.length, 5);
    const col = answer.map((l) => l.indexOf(' IN '));
    assert.ok(col.every((c) => c === col[0]));
    assert.ok(
      answer.every((l) => /^workspace\.example\.\s+\d+\s+IN\s+MX\s+\d+ \S+\.google\.com\.$/.test(l)),
      answer.join('\n'),
    );
  });

  it('looks up the PTR of an address and refuses an unknown type', async () => {
    const bad = await runCli(['lookup', 'example.com', 'BOGUS', '--server', `127.0.0.1:${lab.dns.port}`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown record type "BOGUS"/);
  });

  it('takes a Unicode name', async () => {
    const r = await runCli(['lookup', 'bücher.example', '--server', `127.0.0.1:${lab.dns.port}`, '--json']);
    const out = JSON.parse(r.stdout);
    assert.equal(out.question.name, 'xn--bcher-kva.example');
  });
});

describe('mxray lab', () => {
  it('serves zones in the foreground, says where, and stops on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'lab', '--zone', EXAMPLES, '--dns', '127.0.0.1:0'],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /authoritative DNS on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`lab exited early: ${out}`)));
    });
    const resolver = createResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 1000 });
    const mx = await resolver.resolve({ name: 'roundrobin.example', type: 'MX' });
    assert.equal(mx.kind, 'answer');
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 0);
    assert.match(out, /lab stopped/);
  });

  it('refuses a non-loopback address', async () => {
    const r = await runCli(['lab', '--zone', EXAMPLES, '--dns', '0.0.0.0:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /MX_LAB_NOT_LOOPBACK/);
  });

  it('names the file and line of a broken zone', async () => {
    const r = await runCli([
      'route',
      'x.test',
      '--lab',
      fileURLToPath(new URL('../fixtures/broken/bad-mx.zone', import.meta.url)),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad-mx\.zone:7: /);
  });
});

describe('mxray demo', () => {
  it('tells the story with real DNS and SMTP traffic, with no network', async () => {
    const r = await runCli(['demo', '--seed', '7'], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    for (const d of [
      'example.com',
      'roundrobin.example',
      'workspace.example',
      'm365.example',
      'nullmx.example',
      'implicit.example',
    ]) {
      assert.match(r.stdout, new RegExp(d.replace('.', '\\.')));
    }
    assert.match(r.stdout, /attempt 1: mail1\.example\.com \[127\.0\.1\.1\] accepted at message: 250/);
    assert.match(
      r.stdout,
      /attempt 1: mail1\.example\.com \[127\.0\.1\.1\] refused at connect: connection refused\n.*attempt 2: mail2\.example\.com \[127\.0\.1\.2\] accepted/,
    );
    assert.match(r.stdout, /permanent failure before any connection: nullmx\.example publishes a null MX/);
    const shares = [...r.stdout.matchAll(/^\s+mail-\S+\s+(\d+)\s+[\d.]+%\s+\((\d+) in its mailbox\)/gm)];
    assert.equal(shares.length, 3);
    assert.equal(
      shares.reduce((a, m) => a + Number(m[1]), 0),
      300,
    );
    for (const m of shares) {
      assert.equal(m[1], m[2], 'every delivery reported is in the receiver’s mailbox');
      assert.ok(Number(m[1]) > 60 && Number(m[1]) < 140, `share ${m[1]} of 300`);
    }
    assert.match(r.stdout, /302 messages accepted/);
  });
});

describe('mxray send and probe', () => {
  it('sends down the route and prints the send contract as JSON (exit 0)', async () => {
    const r = await runCli([
      'send',
      '--to',
      'user@example.com',
      '--from',
      'me@client.test',
      '--lab',
      EXAMPLES,
      '--helo',
      'client.test',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.delivered, true);
    assert.equal(d.permanent, false);
    assert.equal(d.acceptedBy.exchange, 'mail1.example.com');
    assert.equal(d.acceptedBy.address, '127.0.1.1');
    assert.match(d.messageId, /^<.+@client\.test>$/);
    const a = d.attempts[0];
    assert.deepEqual(
      Object.keys(a).sort(),
      ['address', 'elapsedMs', 'error', 'exchange', 'phase', 'port', 'reply', 'result', 'tls', 'transcript'].sort(),
    );
    assert.equal(a.result, 'accepted');
    assert.equal(a.reply.code, 250);
    assert.equal(d.route.outcome, 'deliverable');
  });

  it('exits 69 for a null-MX recipient without connecting, and 75 when every server is down', async () => {
    const nul = await runCli(['send', '--to', 'user@nullmx.example', '--from', 'me@client.test', '--lab', EXAMPLES]);
    assert.equal(nul.code, 69);
    assert.match(nul.stdout, /permanent failure before any connection/);
    assert.doesNotMatch(nul.stdout, /attempt 1/);
  });

  it('refuses a header with a line break before sending', async () => {
    const r = await runCli([
      'send',
      '--to',
      'user@example.com',
      '--from',
      'me@client.test',
      '--lab',
      EXAMPLES,
      '--header',
      'X-A: b\nBcc: evil@example.net',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /contains CR, LF or NUL/);
  });

  it('probes every address of a domain and prints the probe contract as JSON', async () => {
    const r = await runCli(['probe', '--domain', 'example.com', '--lab', EXAMPLES, '--json', '--helo', 'client.test']);
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout);
    assert.equal(results.length, 3);
    for (const p of results) {
      for (const key of [
        'host',
        'address',
        'port',
        'connected',
        'banner',
        'ehlo',
        'tls',
        'timings',
        'transcript',
        'error',
      ])
        assert.ok(key in p, key);
      assert.equal(p.connected, true);
      assert.equal(p.banner.code, 220);
      assert.equal(p.tls.certificate.nameMatches, true);
      assert.equal(p.tls.certificate.selfSigned, true);
      assert.equal(p.tls.certificate.trusted, false);
    }
    assert.deepEqual(
      results.map((p: { host: string }) => p.host),
      ['mail1.example.com', 'mail2.example.com', 'mail3.example.com'],
    );
  });

  it('says "servers down", not "port blocked", when every address refuses', async () => {
    const r = await runCli(['probe', '127.0.9.77', '--port', '9', '--timeout', '1']);
    assert.equal(r.code, 75);
    assert.match(
      r.stdout,
      /refused the connection: packets reach them and come back, so port 9 is not blocked from here/,
    );
  });
});

describe('a failover drill with a running lab', () => {
  it('moves mail to the secondary when the primary is taken down from stdin', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'lab', '--dns', '127.0.0.1:0', '--smtp-port', '0'],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const waitFor = (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            child.stdout.off('data', onData);
            resolve(m);
          }
        };
        const onData = (d: Buffer) => {
          out += d.toString();
          check();
        };
        child.stdout.on('data', onData);
        child.once('exit', () => reject(new Error(`lab exited: ${out}`)));
        check();
      });
    after(() => child.kill('SIGKILL'));
    const dns = (await waitFor(/authoritative DNS on (127\.0\.0\.1:\d+)/))[1]!;
    const smtpPort = (await waitFor(/SMTP receivers on port (\d+)/))[1]!;
    const send = () =>
      runCli([
        'send',
        '--to',
        'drill@example.com',
        '--from',
        'me@client.test',
        '--server',
        dns,
        '--port',
        smtpPort,
        '--json',
      ]);
    const first = JSON.parse((await send()).stdout);
    assert.equal(first.acceptedBy.exchange, 'mail1.example.com');
    child.stdin.write('fault mail1.example.com down\n');
    await waitFor(/mail1\.example\.com \[127\.0\.1\.1\] is now down/);
    const second = await send();
    assert.equal(second.code, 0);
    const d = JSON.parse(second.stdout);
    assert.deepEqual(
      d.attempts.map((a: { exchange: string; result: string }) => [a.exchange, a.result]),
      [
        ['mail1.example.com', 'refused'],
        ['mail2.example.com', 'accepted'],
      ],
    );
    child.stdin.write('messages\n');
    await waitFor(/from <me@client\.test> to <drill@example\.com> at mail2\.example\.com \[127\.0\.1\.2\] \(TLS\)/);
    child.stdin.write('quit\n');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
  });
});
