import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyReader, makeReply, parseEhlo } from './reply.js';

describe('ReplyReader (RFC 5321 §4.2)', () => {
  it('reads single and multi-line replies across chunk boundaries', () => {
    const r = new ReplyReader();
    r.push('220 mx.example ESMTP\r\n250-mx.example he');
    const first = r.next();
    assert.ok(first.kind === 'reply');
    assert.equal(first.reply.code, 220);
    assert.equal(first.reply.text, 'mx.example ESMTP');
    assert.equal(r.next().kind, 'need-more');
    r.push('llo\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 1000\r\n');
    const ehlo = r.next();
    assert.ok(ehlo.kind === 'reply');
    assert.deepEqual(ehlo.reply.lines, ['mx.example hello', 'PIPELINING', 'STARTTLS', 'SIZE 1000']);
    assert.deepEqual([...parseEhlo(ehlo.reply).keys()], ['PIPELINING', 'STARTTLS', 'SIZE']);
  });

  it('takes the enhanced status code (RFC 3463) only when its class matches', () => {
    assert.equal(makeReply(550, ['5.1.1 no such user']).enhanced, '5.1.1');
    assert.equal(makeReply(550, ['5.1.1 no such user']).text, 'no such user');
    assert.equal(makeReply(250, ['5.1.1 odd']).enhanced, null);
    assert.equal(makeReply(250, ['2.0.0']).enhanced, '2.0.0');
  });

  it('stops a line that never ends, an endless multi-line reply, and garbage', () => {
    const long = new ReplyReader({ maxLineOctets: 100, maxLines: 5 });
    long.push('220 ' + 'x'.repeat(200));
    assert.match((long.next() as { reason: string }).reason, /longer than 100 octets/);
    const endless = new ReplyReader({ maxLineOctets: 100, maxLines: 5 });
    endless.push('250-a\r\n'.repeat(10));
    assert.match((endless.next() as { reason: string }).reason, /more than 5 lines/);
    const junk = new ReplyReader();
    junk.push('HTTP/1.1 400 Bad Request\r\n');
    assert.match((junk.next() as { reason: string }).reason, /not an SMTP reply line/);
    const mixed = new ReplyReader();
    mixed.push('250-a\r\n251 b\r\n');
    assert.match((mixed.next() as { reason: string }).reason, /changed its code/);
  });
});
