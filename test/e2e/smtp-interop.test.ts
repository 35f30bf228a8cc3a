/**
 * Interop with SMTP software that is not ours, on loopback: swaks (Debian) sending into the lab's receivers,
 * and mxray delivering to and probing aiosmtpd (Debian's python3-aiosmtpd).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';
import { startLab } from '../../src/lab/index.js';
import { deliverMessage } from '../../src/smtp/deliver.js';
import { composeMessage, parseMailbox } from '../../src/smtp/message.js';
import { probeSmtp } from '../../src/smtp/probe.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/zones', import.meta.url));
const TIMEOUTS = { connectMs: 2000, greetingMs: 2000, commandMs: 2000, tlsMs: 2000 };
const PYTHON = '/usr/bin/python3';
const hasSwaks = spawnSync('swaks', ['--version']).status === 0;
const hasAiosmtpd = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import aiosmtpd']).status === 0;

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe(
  'swaks into the lab receivers',
  { skip: hasSwaks ? false : 'swaks is not installed (apt-get install swaks)' },
  () => {
    let lab: Lab;
    before(async () => {
      lab = await startLab({ zones: [EXAMPLES], smtp: { port: 0 } });
    });
    after(async () => {
      await lab?.close();
    });

    it('accepts a message from swaks over STARTTLS and keeps it', async () => {
      const r = await run('swaks', [
        '--to',
        'postmaster@example.com',
        '--from',
        'swaks@client.test',
        '--server',
        '127.0.1.1',
        '--port',
        String(lab.smtp!.port),
        '--helo',
        'client.test',
        '--tls',
        '--header',
        'Subject: from swaks',
        '--timeout',
        '5',
      ]);
      assert.equal(r.code, 0, r.out);
      const got = lab.smtp!.receiverFor('mail1.example.com')!.messages.at(-1)!;
      assert.equal(got.tls, true);
      assert.equal(got.from, 'swaks@client.test');
      assert.deepEqual(got.to, ['postmaster@example.com']);
      assert.match(got.data.toString(), /^Subject: from swaks/m);
    });

    it('shows swaks the reject fault as a 550 and the tempfail fault as a 421 greeting', async () => {
      await lab.smtp!.setFault('mail2.example.com', 'reject');
      const rejected = await run('swaks', [
        '--to',
        'x@example.com',
        '--server',
        '127.0.1.2',
        '--port',
        String(lab.smtp!.port),
        '--timeout',
        '5',
      ]);
      assert.notEqual(rejected.code, 0);
      assert.match(rejected.out, /<\*\* +550 5\.1\.1 <x@example\.com>: no such user here/);
      await lab.smtp!.setFault('mail2.example.com', 'tempfail');
      const temp = await run('swaks', [
        '--to',
        'x@example.com',
        '--server',
        '127.0.1.2',
        '--port',
        String(lab.smtp!.port),
        '--timeout',
        '5',
      ]);
      assert.notEqual(temp.code, 0);
      assert.match(temp.out, /<\*\* +421 /);
      await lab.smtp!.setFault('mail2.example.com', 'none');
    });
  },
);

async function freePort(address: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, address, resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe(
  'mxray against aiosmtpd',
  { skip: hasAiosmtpd ? false : 'aiosmtpd is not installed (apt-get install python3-aiosmtpd)' },
  () => {
    let child: ChildProcess;
    let dir: string;
    let port: number;
    const address = '127.0.9.9';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mxray-aiosmtpd-'));
      port = await freePort(address);
      child = spawn(
        PYTHON,
        ['-m', 'aiosmtpd', '-n', '-l', `${address}:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(dir, 'Maildir')],
        {
          stdio: 'ignore',
        },
      );
      // Wait until it accepts connections.
      for (let i = 0; i < 100; i++) {
        const p = await probeSmtp({
          host: null,
          address,
          port,
          helo: 'w.test',
          starttls: false,
          timeouts: { ...TIMEOUTS, connectMs: 200 },
        });
        if (p.banner) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('aiosmtpd did not start');
    });
    after(async () => {
      child?.kill();
      await rm(dir, { recursive: true, force: true });
    });

    it('probes its greeting and EHLO', async () => {
      const p = await probeSmtp({
        host: 'aio.test',
        address,
        port,
        helo: 'probe.test',
        starttls: true,
        timeouts: TIMEOUTS,
      });
      assert.equal(p.error, null, p.error ?? '');
      assert.equal(p.banner?.code, 220);
      assert.ok(p.ehlo!.extensions.includes('8BITMIME'));
      assert.equal(p.starttlsOffered, false);
      assert.equal(p.tls, null);
    });

    it('delivers a message it stores, headers and dot-stuffed body intact', async () => {
      const from = parseMailbox('tester@sender.test', '--from');
      const to = parseMailbox('user@aio.test', '--to');
      const { messageId, bytes } = await composeMessage({
        from,
        to,
        subject: 'interop',
        body: 'first\n.starts with a dot\nlast',
        headers: [['X-Interop', 'aiosmtpd']],
        idDomain: 'sender.test',
      });
      const d = await deliverMessage({
        hosts: [
          {
            exchange: 'aio.test',
            preference: 10,
            addresses: [address],
            ipv4: [address],
            ipv6: [],
            canonical: null,
            error: null,
          },
        ],
        port,
        from,
        to,
        message: bytes,
        messageId,
        helo: 'sender.test',
        requireTls: false,
        timeouts: TIMEOUTS,
      });
      assert.equal(d.delivered, true, d.verdict);
      const files = await readdir(join(dir, 'Maildir', 'new'));
      assert.equal(files.length, 1);
      const stored = await readFile(join(dir, 'Maildir', 'new', files[0]!), 'utf8');
      assert.match(stored, new RegExp(`Message-ID: ${messageId.replace(/[.]/g, '\\.')}`, 'i'));
      assert.match(stored, /^X-Interop: aiosmtpd$/m);
      assert.match(stored, /\n\.starts with a dot\n/);
    });
  },
);
