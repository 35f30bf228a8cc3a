/**
 * Test delivery down an MX list (RFC 5321 §4.5.4.1, §5.1): every failover rule, against lab receivers and
 * scripted servers on loopback addresses sharing one port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KeyPair } from '../../src/lab/certificate.js';
import { labCertificate } from '../../src/lab/certificate.js';
import type { Receiver } from '../../src/lab/smtp-receiver.js';
import { startReceiver } from '../../src/lab/smtp-receiver.js';
import type { RouteHost } from '../../src/mx/route.js';
import type { DeliverOptions } from '../../src/smtp/deliver.js';
import { deliverMessage } from '../../src/smtp/deliver.js';
import { composeMessage, encodeData, parseHeader, parseMailbox } from '../../src/smtp/message.js';
import type { SmtpScript } from '../helpers/scripted-smtp.js';
import { startScriptedSmtp } from '../helpers/scripted-smtp.js';

const TIMEOUTS = { connectMs: 800, greetingMs: 800, commandMs: 800, tlsMs: 800 };
const host = (exchange: string, preference: number, addresses: string[]): RouteHost => ({
  exchange,
  preference,
  addresses,
  ipv4: addresses,
  ipv6: [],
  canonical: null,
  error: null,
});

let tls: KeyPair;
let port: number;
const receivers: Receiver[] = [];
const closers: (() => Promise<void>)[] = [];
// 127.0.8.1..3: lab receivers on one shared port.
before(async () => {
  tls = await labCertificate(['a.deliver.test', 'b.deliver.test', 'c.deliver.test']);
  const first = await startReceiver({ address: '127.0.8.1', port: 0, hosts: ['a.deliver.test'], tls });
  port = first.port;
  receivers.push(first);
  receivers.push(await startReceiver({ address: '127.0.8.2', port, hosts: ['b.deliver.test'], tls }));
  receivers.push(await startReceiver({ address: '127.0.8.3', port, hosts: ['c.deliver.test'], tls }));
});
after(async () => {
  await Promise.all([...receivers.map((r) => r.close()), ...closers.map((c) => c())]);
});

async function scripted(address: string, script: SmtpScript) {
  const s = await startScriptedSmtp(script, address, port);
  closers.push(() => s.close());
  return s;
}

async function send(hosts: RouteHost[], extra: Partial<DeliverOptions> = {}) {
  const from = parseMailbox('tester@sender.test', '--from');
  const to = parseMailbox('user@deliver.test', '--to');
  const { messageId, bytes } = await composeMessage({
    from,
    to,
    subject: 'failover test',
    body: 'line one\n.a line that starts with a dot\nlast line',
    headers: [],
    idDomain: 'sender.test',
  });
  return deliverMessage({
    hosts,
    port,
    from,
    to,
    message: bytes,
    messageId,
    helo: 'sender.test',
    requireTls: false,
    timeouts: TIMEOUTS,
    ...extra,
  });
}

const A = host('a.deliver.test', 10, ['127.0.8.1']);
const B = host('b.deliver.test', 20, ['127.0.8.2']);
const C = host('c.deliver.test', 30, ['127.0.8.3']);

async function reset() {
  for (const r of receivers) {
    await r.setFault('none');
    r.messages.length = 0;
  }
}

describe('deliverMessage failover', { concurrency: false }, () => {
  it('delivers to the first host, over STARTTLS, with the message intact (dot-stuffing undone by the server)', async () => {
    await reset();
    const d = await send([A, B]);
    assert.equal(d.delivered, true, d.verdict);
    assert.deepEqual(d.acceptedBy, { exchange: 'a.deliver.test', address: '127.0.8.1', port });
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0]!.result, 'accepted');
    assert.match(d.attempts[0]!.tls?.protocol ?? '', /TLSv1\.[23]/);
    const got = receivers[0]!.messages[0]!;
    assert.equal(got.tls, true);
    assert.deepEqual(got.to, ['user@deliver.test']);
    const text = got.data.toString();
    assert.match(text, /\r\n\.a line that starts with a dot\r\n/);
    assert.match(text, new RegExp(`Message-ID: ${d.messageId.replace(/[.]/g, '\\.')}`));
    assert.match(text, /^Date: /m);
    assert.match(text, /^MIME-Version: 1\.0/m);
  });

  it('moves on when the primary refuses the connection (down)', async () => {
    await reset();
    await receivers[0]!.setFault('down');
    const d = await send([A, B]);
    assert.equal(d.delivered, true);
    assert.deepEqual(
      d.attempts.map((a) => [a.exchange, a.result, a.phase]),
      [
        ['a.deliver.test', 'refused', 'connect'],
        ['b.deliver.test', 'accepted', 'message'],
      ],
    );
    assert.equal(receivers[1]!.messages.length, 1);
  });

  it('moves on when the primary never greets (silent), after the greeting timeout', async () => {
    await reset();
    await receivers[0]!.setFault('silent');
    const d = await send([A, B]);
    assert.equal(d.delivered, true);
    assert.deepEqual(
      d.attempts.map((a) => [a.result, a.phase]),
      [
        ['timeout', 'greeting'],
        ['accepted', 'message'],
      ],
    );
  });

  it('moves on after a 421 greeting (tempfail)', async () => {
    await reset();
    await receivers[0]!.setFault('tempfail');
    const d = await send([A, B]);
    assert.equal(d.acceptedBy?.exchange, 'b.deliver.test');
    assert.equal(d.attempts[0]!.result, 'tempfail');
    assert.equal(d.attempts[0]!.reply?.code, 421);
  });

  it('stops at a 5xx to RCPT: permanent, no other host tried', async () => {
    await reset();
    await receivers[0]!.setFault('reject');
    const d = await send([A, B]);
    assert.equal(d.delivered, false);
    assert.equal(d.permanent, true);
    assert.equal(d.attempts.length, 1);
    assert.deepEqual(
      [d.attempts[0]!.result, d.attempts[0]!.phase, d.attempts[0]!.reply?.code, d.attempts[0]!.reply?.enhanced],
      ['permfail', 'rcpt', 550, '5.1.1'],
    );
    assert.equal(receivers[1]!.messages.length, 0);
  });

  it('tries every address of a host before the next host', async () => {
    await reset();
    await receivers[0]!.setFault('down');
    const twoAddresses = host('ab.deliver.test', 10, ['127.0.8.1', '127.0.8.2']);
    const d = await send([twoAddresses, C]);
    assert.deepEqual(
      d.attempts.map((a) => [a.exchange, a.address, a.result]),
      [
        ['ab.deliver.test', '127.0.8.1', 'refused'],
        ['ab.deliver.test', '127.0.8.2', 'accepted'],
      ],
    );
  });

  it('is a temporary failure when every host fails, having tried them all in order', async () => {
    await reset();
    for (const r of receivers) await r.setFault('down');
    const d = await send([A, B, C]);
    assert.equal(d.delivered, false);
    assert.equal(d.permanent, false);
    assert.deepEqual(
      d.attempts.map((a) => a.exchange),
      ['a.deliver.test', 'b.deliver.test', 'c.deliver.test'],
    );
    assert.match(d.verdict, /temporary failure: all 3 attempts failed/);
  });

  it('stops after the phase --quit-after names, sending no message', async () => {
    await reset();
    const d = await send([A], { quitAfter: 'rcpt' });
    assert.equal(d.delivered, false);
    assert.equal(d.quitAfter, 'rcpt');
    assert.equal(d.attempts[0]!.result, 'accepted');
    assert.equal(receivers[0]!.messages.length, 0);
    assert.ok(!d.attempts[0]!.transcript.some((l) => l.text === 'DATA'));
  });
});

describe('deliverMessage against scripted replies', { concurrency: false }, () => {
  it('moves on after a 451 to RCPT and after a 452 to MAIL', async () => {
    await reset();
    await receivers[2]!.setFault('down');
    const rcpt451 = await scripted('127.0.8.4', { rcpt: '451 4.3.0 try later' });
    const mail452 = await scripted('127.0.8.5', { mail: '452 4.3.1 no space' });
    const d = await send([host('r.test', 10, ['127.0.8.4']), host('m.test', 20, ['127.0.8.5']), B]);
    assert.deepEqual(
      d.attempts.map((a) => [a.result, a.phase, a.reply?.code]),
      [
        ['tempfail', 'rcpt', 451],
        ['tempfail', 'mail', 452],
        ['accepted', 'message', 250],
      ],
    );
    assert.ok(rcpt451.commands.includes('QUIT'));
    void mail452;
  });

  it('stops at a 5xx to MAIL and at a 554 after the message', async () => {
    const mail550 = await scripted('127.0.8.6', { mail: '550 5.7.1 sender refused' });
    const d1 = await send([host('x.test', 10, ['127.0.8.6']), B]);
    assert.deepEqual([d1.permanent, d1.attempts.length, d1.attempts[0]!.phase], [true, 1, 'mail']);
    void mail550;
    const dot554 = await scripted('127.0.8.7', { dot: '554 5.6.0 content rejected' });
    const d2 = await send([host('y.test', 10, ['127.0.8.7']), B]);
    assert.deepEqual(
      [d2.permanent, d2.attempts.length, d2.attempts[0]!.phase, d2.attempts[0]!.reply?.code],
      [true, 1, 'message', 554],
    );
    void dot554;
  });

  it('falls back to HELO when EHLO gets 5xx, and --require-tls fails a host without STARTTLS', async () => {
    const old = await scripted('127.0.8.8', { ehlo: '502 5.5.2 what?' });
    const d = await send([host('old.test', 10, ['127.0.8.8'])]);
    assert.equal(d.delivered, true);
    assert.ok(old.commands.some((c) => c.startsWith('HELO ')));
    const d2 = await send([host('old.test', 10, ['127.0.8.8'])], { requireTls: true });
    assert.equal(d2.delivered, false);
    assert.equal(d2.attempts[0]!.result, 'tls-failed');
  });
});

describe('message input', () => {
  it('refuses CR, LF and NUL in addresses and headers at the input', () => {
    assert.throws(() => parseMailbox('a@b.test\r\nRCPT TO:<x@y>', '--to'), /CR, LF or NUL/);
    assert.throws(() => parseHeader('X-Test: a\nBcc: x@y'), /CR, LF or NUL/);
    assert.throws(() => parseMailbox('no-at-sign', '--to'), /not local@domain/);
    assert.throws(() => parseHeader('no colon here'), /not "Name: value"/);
    assert.deepEqual(parseHeader('X-Test: yes'), ['X-Test', 'yes']);
  });

  it('turns a Unicode domain into A-labels and flags a Unicode local part for SMTPUTF8', () => {
    const m = parseMailbox('José@Bücher.example', '--to');
    assert.equal(m.address, 'José@xn--bcher-kva.example');
    assert.equal(m.needsUtf8, true);
    assert.equal(parseMailbox('<>', '--from', true).address, '');
  });

  it('dot-stuffs and ends DATA with CRLF.CRLF (RFC 5321 §4.5.2)', () => {
    assert.equal(encodeData(Buffer.from('a\n.b\n..c')).toString(), 'a\r\n..b\r\n...c\r\n.\r\n');
    assert.equal(encodeData(Buffer.from('x\r\n')).toString(), 'x\r\n.\r\n');
  });
});
