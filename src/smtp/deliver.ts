/**
 * @module smtp/deliver
 * Delivers one test message down a mail route as an MTA does (RFC 5321 §4.5.4.1 and §5.1): hosts in route
 * order, every address of a host before the next host; a refused or timed-out connection, a 4xx or 5xx
 * greeting, a failed EHLO/HELO or a 4xx to MAIL/RCPT/DATA moves on to the next; a 5xx to MAIL, RCPT or DATA
 * is final (the message would bounce) and nothing else is tried. STARTTLS is used whenever offered (RFC 3207).
 */
import type { RouteHost } from '../mx/route.js';
import type { Phase, ReplyOutcome } from './connection.js';
import { SmtpConnection } from './connection.js';
import type { Mailbox } from './message.js';
import { encodeData } from './message.js';
import type { PhaseTimeouts } from './probe.js';
import type { SmtpReply } from './reply.js';
import { parseEhlo } from './reply.js';
import type { TranscriptLine } from './transcript.js';
import { Transcript } from './transcript.js';

export type AttemptResult = 'accepted' | 'refused' | 'timeout' | 'tempfail' | 'permfail' | 'tls-failed';

/** Where `--quit-after` stops a session (swaks' names). */
export type QuitAfter = 'connect' | 'banner' | 'ehlo' | 'tls' | 'mail' | 'rcpt';

export interface Attempt {
  exchange: string;
  address: string;
  port: number;
  result: AttemptResult;
  /** The phase the attempt ended in. */
  phase: Phase;
  reply: { code: number; enhanced: string | null; text: string } | null;
  error: string | null;
  tls: { protocol: string | null; cipher: string | null } | null;
  elapsedMs: number;
  transcript: TranscriptLine[];
}

/** The `mxray send --json` contract (stable: fields are only ever added). */
export interface Delivery {
  delivered: boolean;
  /** True when the failure is permanent (5xx to MAIL/RCPT/DATA, or a route that can take no mail). */
  permanent: boolean;
  acceptedBy: { exchange: string; address: string; port: number } | null;
  attempts: Attempt[];
  messageId: string;
  /** When `--quit-after` stopped the session: the phase it stopped after. */
  quitAfter: QuitAfter | null;
  /** A one-line verdict. */
  verdict: string;
}

export interface DeliverOptions {
  hosts: readonly RouteHost[];
  port: number;
  from: Mailbox;
  to: Mailbox;
  message: Buffer;
  messageId: string;
  helo: string;
  requireTls: boolean;
  quitAfter?: QuitAfter | null;
  timeouts: PhaseTimeouts;
  /** Maps an address before connecting (the lab's loopback remapping); identity by default. */
  mapAddress?: (address: string) => string;
  signal?: AbortSignal | undefined;
  /** Called after every attempt, for live output. */
  onAttempt?: (attempt: Attempt) => void;
}

interface Ended {
  result: AttemptResult;
  phase: Phase;
  reply: SmtpReply | null;
  error: string | null;
  final: boolean;
}

function fromReply(reply: SmtpReply, phase: Phase, finalOn5xx: boolean): Ended {
  const cls = Math.floor(reply.code / 100);
  if (cls === 5 && finalOn5xx) return { result: 'permfail', phase, reply, error: null, final: true };
  if (cls === 5) return { result: 'refused', phase, reply, error: null, final: false };
  return { result: 'tempfail', phase, reply, error: null, final: false };
}

function fromFailure(o: Exclude<ReplyOutcome, { kind: 'reply' }>): Ended {
  const error = o.kind === 'timeout' ? `no complete reply within ${o.afterMs} ms` : o.error;
  return { result: o.kind === 'timeout' ? 'timeout' : 'tempfail', phase: o.phase, reply: null, error, final: false };
}

const OK: Ended = { result: 'accepted', phase: 'quit', reply: null, error: null, final: false };

/**
 * Walks the hosts in order until one accepts the message or a 5xx makes the failure final.
 * @example const d = await deliverMessage({ hosts: route.hosts, port: 25, from, to, message, messageId, helo,
 *   requireTls: false, timeouts: DEFAULT_TIMEOUTS });
 */
export async function deliverMessage(options: DeliverOptions): Promise<Delivery> {
  const attempts: Attempt[] = [];
  const data = encodeData(options.message);
  for (const host of options.hosts) {
    for (const address of host.addresses) {
      options.signal?.throwIfAborted();
      const transcript = new Transcript();
      const connectTo = options.mapAddress ? options.mapAddress(address) : address;
      const session = await runSession(options, host.exchange, connectTo, data, transcript);
      const attempt: Attempt = {
        exchange: host.exchange,
        address,
        port: options.port,
        result: session.ended.result,
        phase: session.ended.phase,
        reply: session.ended.reply
          ? { code: session.ended.reply.code, enhanced: session.ended.reply.enhanced, text: session.ended.reply.text }
          : null,
        error: session.ended.error,
        tls: session.tls,
        elapsedMs: transcript.elapsedMs,
        transcript: transcript.lines,
      };
      attempts.push(attempt);
      options.onAttempt?.(attempt);
      if (attempt.result === 'accepted') {
        const quitAfter = options.quitAfter ?? null;
        return {
          delivered: quitAfter === null,
          permanent: false,
          acceptedBy: { exchange: host.exchange, address, port: options.port },
          attempts,
          messageId: options.messageId,
          quitAfter,
          verdict:
            quitAfter === null
              ? `delivered to ${host.exchange} [${address}]:${options.port}${attempt.reply ? `: ${attempt.reply.code} ${attempt.reply.text}` : ''}`
              : `stopped after ${quitAfter} at ${host.exchange} [${address}]:${options.port}, as asked`,
        };
      }
      if (session.ended.final) {
        return {
          delivered: false,
          permanent: true,
          acceptedBy: null,
          attempts,
          messageId: options.messageId,
          quitAfter: options.quitAfter ?? null,
          verdict: `permanent failure at ${host.exchange} [${address}]: ${attempt.reply?.code ?? ''} ${attempt.reply?.text ?? attempt.error ?? ''} (${attempt.phase}); no other host is tried`,
        };
      }
    }
  }
  const tried = attempts.length;
  return {
    delivered: false,
    permanent: false,
    acceptedBy: null,
    attempts,
    messageId: options.messageId,
    quitAfter: options.quitAfter ?? null,
    verdict:
      tried === 0
        ? 'temporary failure: no exchange has an address to connect to'
        : `temporary failure: all ${tried} attempt${tried === 1 ? '' : 's'} failed; a sender would queue the message and retry`,
  };
}

async function runSession(
  options: DeliverOptions,
  exchange: string,
  address: string,
  data: Buffer,
  transcript: Transcript,
): Promise<{ ended: Ended; tls: Attempt['tls'] }> {
  const t = options.timeouts;
  const signal = options.signal;
  let tls: Attempt['tls'] = null;
  const opened = await SmtpConnection.open({ address, port: options.port, timeoutMs: t.connectMs, signal, transcript });
  if (opened.kind !== 'connected') {
    return {
      ended: {
        result: opened.kind === 'timeout' ? 'timeout' : 'refused',
        phase: 'connect',
        reply: null,
        error: opened.error,
        final: false,
      },
      tls,
    };
  }
  const conn = opened.connection;
  const stop = async (ended: Ended): Promise<{ ended: Ended; tls: Attempt['tls'] }> => {
    if (ended.result !== 'timeout')
      await conn.command('QUIT', 'quit', Math.min(2000, t.commandMs), signal).catch(() => undefined);
    conn.close();
    return { ended, tls };
  };
  const quitAt = (phase: QuitAfter) => options.quitAfter === phase;
  try {
    if (quitAt('connect')) return await stop(OK);
    const greeting = await conn.read('greeting', t.greetingMs, signal);
    if (greeting.kind !== 'reply') return await stop(fromFailure(greeting));
    if (greeting.reply.code !== 220) return await stop(fromReply(greeting.reply, 'greeting', false));
    if (quitAt('banner')) return await stop({ ...OK, reply: greeting.reply, phase: 'greeting' });

    const hello = async (): Promise<Ended | { ext: Map<string, string>; reply: SmtpReply }> => {
      const ehlo = await conn.command(`EHLO ${options.helo}`, 'ehlo', t.commandMs, signal);
      if (ehlo.kind !== 'reply') return fromFailure(ehlo);
      if (ehlo.reply.code === 250) return { ext: parseEhlo(ehlo.reply), reply: ehlo.reply };
      if (ehlo.reply.code < 500) return fromReply(ehlo.reply, 'ehlo', false);
      const helo = await conn.command(`HELO ${options.helo}`, 'helo', t.commandMs, signal);
      if (helo.kind !== 'reply') return fromFailure(helo);
      if (helo.reply.code === 250) return { ext: new Map(), reply: helo.reply };
      return fromReply(helo.reply, 'helo', false);
    };
    let greeted = await hello();
    if ('result' in greeted) return await stop(greeted);
    if (quitAt('ehlo')) return await stop({ ...OK, reply: greeted.reply, phase: 'ehlo' });

    if (greeted.ext.has('STARTTLS')) {
      const go = await conn.command('STARTTLS', 'starttls', t.commandMs, signal);
      if (go.kind !== 'reply') return await stop(fromFailure(go));
      if (go.reply.code === 220) {
        const up = await conn.startTls(exchange, t.tlsMs, signal);
        if (up.kind !== 'ok')
          return await stop({ result: 'tls-failed', phase: 'tls', reply: null, error: up.error, final: false });
        tls = { protocol: up.tls.protocol, cipher: up.tls.cipher };
        greeted = await hello();
        if ('result' in greeted) return await stop(greeted);
      } else if (options.requireTls) {
        return await stop({
          result: 'tls-failed',
          phase: 'starttls',
          reply: go.reply,
          error: 'STARTTLS was refused and TLS is required',
          final: false,
        });
      }
    } else if (options.requireTls) {
      return await stop({
        result: 'tls-failed',
        phase: 'ehlo',
        reply: null,
        error: 'the server does not offer STARTTLS and TLS is required',
        final: false,
      });
    }
    if (quitAt('tls')) return await stop({ ...OK, phase: 'tls' });

    const ext = greeted.ext;
    if ((options.from.needsUtf8 || options.to.needsUtf8) && !ext.has('SMTPUTF8')) {
      return await stop({
        result: 'permfail',
        phase: 'mail',
        reply: null,
        error: 'the address needs SMTPUTF8 (RFC 6531), which this server does not offer',
        final: false,
      });
    }
    const params: string[] = [];
    if (ext.has('8BITMIME') && data.some((b) => b > 0x7f)) params.push('BODY=8BITMIME');
    if (options.from.needsUtf8 || options.to.needsUtf8) params.push('SMTPUTF8');
    if (ext.has('SIZE')) params.push(`SIZE=${data.length}`);
    const mail = await conn.command(
      `MAIL FROM:<${options.from.address}>${params.map((p) => ` ${p}`).join('')}`,
      'mail',
      t.commandMs,
      signal,
    );
    if (mail.kind !== 'reply') return await stop(fromFailure(mail));
    if (mail.reply.code !== 250) return await stop(fromReply(mail.reply, 'mail', true));
    if (quitAt('mail')) return await stop({ ...OK, reply: mail.reply, phase: 'mail' });

    const rcpt = await conn.command(`RCPT TO:<${options.to.address}>`, 'rcpt', t.commandMs, signal);
    if (rcpt.kind !== 'reply') return await stop(fromFailure(rcpt));
    if (rcpt.reply.code !== 250 && rcpt.reply.code !== 251) return await stop(fromReply(rcpt.reply, 'rcpt', true));
    if (quitAt('rcpt')) return await stop({ ...OK, reply: rcpt.reply, phase: 'rcpt' });

    const go = await conn.command('DATA', 'data', t.commandMs, signal);
    if (go.kind !== 'reply') return await stop(fromFailure(go));
    if (go.reply.code !== 354) return await stop(fromReply(go.reply, 'data', true));
    transcript.add('C', `<message of ${data.length} octets>`, conn.isTls);
    if (!conn.write(data))
      return await stop({
        result: 'tempfail',
        phase: 'message',
        reply: null,
        error: 'connection lost while sending the message',
        final: false,
      });
    // RFC 5321 §4.5.3.2.6: the server may take up to 10 minutes after the final dot; we wait the data phase's time.
    const done = await conn.read('message', t.commandMs, signal);
    if (done.kind !== 'reply') return await stop(fromFailure(done));
    if (done.reply.code !== 250) return await stop(fromReply(done.reply, 'message', true));
    return await stop({ ...OK, reply: done.reply, phase: 'message' });
  } finally {
    conn.close();
  }
}
