/**
 * @module smtp/probe
 * Probes one SMTP server the way a sending MTA opens a session, and stops before any mail:
 * connect, greeting (RFC 5321 §4.3.1), EHLO with HELO fallback (§4.1.1.1, §3.2), STARTTLS when offered
 * (RFC 3207) with the certificate captured, EHLO again inside TLS (RFC 3207 §4.2), QUIT. Never MAIL, RCPT
 * or DATA. Each phase has its own deadline; a hostile server ends its own probe with an error, nothing else.
 */
import type { TranscriptLine } from './transcript.js';
import { Transcript } from './transcript.js';
import type { CertificateInfo } from './certificate.js';
import { describeCertificate } from './certificate.js';
import type { Phase, ReplyOutcome } from './connection.js';
import { SmtpConnection } from './connection.js';
import { parseEhlo } from './reply.js';
import type { SmtpReply } from './reply.js';
import type { PhaseTimeouts } from './timeouts.js';

export type { PhaseTimeouts } from './timeouts.js';
export { DEFAULT_TIMEOUTS } from './timeouts.js';

export interface ProbeOptions {
  /** The MX host name: SNI, and what the certificate must match. Null when only an address is known. */
  host: string | null;
  address: string;
  port: number;
  /** The name sent with EHLO/HELO. */
  helo: string;
  starttls: boolean;
  timeouts: PhaseTimeouts;
  signal?: AbortSignal | undefined;
  now?: () => number;
  /** Extra CA certificates (PEM) trusted beside Node's store. */
  ca?: readonly string[];
}

/** The `mxray probe --json` contract for one address (stable: fields are only ever added). */
export interface ProbeResult {
  host: string | null;
  address: string;
  port: number;
  connected: boolean;
  /** How the connection attempt failed: refused, timeout, network; null when connected. */
  connectError: 'refused' | 'timeout' | 'network' | null;
  banner: { code: number; text: string } | null;
  ehlo: { code: number; command: 'EHLO' | 'HELO'; extensions: string[] } | null;
  tls: {
    protocol: string | null;
    cipher: string | null;
    certificate: CertificateInfo | null;
    /** EHLO extensions offered inside TLS. */
    extensions: string[];
  } | null;
  /** STARTTLS advertised in the first EHLO. */
  starttlsOffered: boolean;
  timings: {
    connectMs: number | null;
    greetingMs: number | null;
    ehloMs: number | null;
    tlsMs: number | null;
    totalMs: number;
  };
  transcript: TranscriptLine[];
  /** What went wrong, naming the phase; null when the probe ran to QUIT. */
  error: string | null;
  /** The phase that failed, or null. */
  phase: Phase | null;
}

function failure(o: Exclude<ReplyOutcome, { kind: 'reply' }>): string {
  switch (o.kind) {
    case 'timeout':
      return `${o.phase}: no complete reply within ${o.afterMs} ms`;
    case 'closed':
      return `${o.phase}: ${o.error}`;
    case 'protocol-error':
      return `${o.phase}: ${o.error}`;
  }
}

const extensionsOf = (reply: SmtpReply): string[] =>
  [...parseEhlo(reply).entries()].map(([k, v]) => (v ? `${k} ${v}` : k));

/**
 * Probes one address.
 * @example const r = await probeSmtp({ host: 'mx.example', address: '127.0.1.1', port: 25, helo: 'probe.local',
 *   starttls: true, timeouts: DEFAULT_TIMEOUTS });
 */
export async function probeSmtp(options: ProbeOptions): Promise<ProbeResult> {
  const transcript = new Transcript();
  const t = options.timeouts;
  const result: ProbeResult = {
    host: options.host,
    address: options.address,
    port: options.port,
    connected: false,
    connectError: null,
    banner: null,
    ehlo: null,
    tls: null,
    starttlsOffered: false,
    timings: { connectMs: null, greetingMs: null, ehloMs: null, tlsMs: null, totalMs: 0 },
    transcript: transcript.lines,
    error: null,
    phase: null,
  };
  const finish = (error: string | null, phase: Phase | null): ProbeResult => {
    result.error = error;
    result.phase = phase;
    result.timings.totalMs = transcript.elapsedMs;
    return result;
  };

  const opened = await SmtpConnection.open({
    address: options.address,
    port: options.port,
    timeoutMs: t.connectMs,
    signal: options.signal,
    transcript,
  });
  result.timings.connectMs = opened.connectMs;
  if (opened.kind !== 'connected') {
    result.connectError = opened.kind;
    return finish(`connect: ${opened.error}`, 'connect');
  }
  result.connected = true;
  const conn = opened.connection;
  try {
    const mark = transcript.elapsedMs;
    const greeting = await conn.read('greeting', t.greetingMs, options.signal);
    if (greeting.kind !== 'reply') return finish(failure(greeting), 'greeting');
    result.timings.greetingMs = transcript.elapsedMs - mark;
    result.banner = { code: greeting.reply.code, text: greeting.reply.text };
    if (greeting.reply.code !== 220) {
      await quit(conn, t, options.signal);
      return finish(`greeting: the server answered ${greeting.reply.code} ${greeting.reply.text}`, 'greeting');
    }

    const ehloStart = transcript.elapsedMs;
    let hello = await conn.command(`EHLO ${options.helo}`, 'ehlo', t.commandMs, options.signal);
    let command: 'EHLO' | 'HELO' = 'EHLO';
    if (hello.kind === 'reply' && hello.reply.code >= 500) {
      // RFC 5321 §3.2: a server that does not know EHLO gets HELO.
      command = 'HELO';
      hello = await conn.command(`HELO ${options.helo}`, 'helo', t.commandMs, options.signal);
    }
    if (hello.kind !== 'reply') return finish(failure(hello), command === 'EHLO' ? 'ehlo' : 'helo');
    result.timings.ehloMs = transcript.elapsedMs - ehloStart;
    const extensions = command === 'EHLO' ? extensionsOf(hello.reply) : [];
    result.ehlo = { code: hello.reply.code, command, extensions };
    if (hello.reply.code !== 250) {
      await quit(conn, t, options.signal);
      return finish(
        `${command.toLowerCase()}: the server answered ${hello.reply.code} ${hello.reply.text}`,
        command === 'EHLO' ? 'ehlo' : 'helo',
      );
    }
    result.starttlsOffered = extensions.some((e) => e.toUpperCase() === 'STARTTLS');

    if (result.starttlsOffered && options.starttls) {
      const tlsStart = transcript.elapsedMs;
      const go = await conn.command('STARTTLS', 'starttls', t.commandMs, options.signal);
      if (go.kind !== 'reply') return finish(failure(go), 'starttls');
      if (go.reply.code !== 220) {
        await quit(conn, t, options.signal);
        return finish(`starttls: the server answered ${go.reply.code} ${go.reply.text}`, 'starttls');
      }
      const up = await conn.startTls(options.host, t.tlsMs, options.signal, options.ca);
      if (up.kind !== 'ok') return finish(`tls: ${up.error}`, 'tls');
      result.timings.tlsMs = transcript.elapsedMs - tlsStart;
      const cert = up.tls.certificate
        ? describeCertificate(up.tls.certificate, up.tls, options.host, (options.now ?? Date.now)())
        : null;
      result.tls = { protocol: up.tls.protocol, cipher: up.tls.cipher, certificate: cert, extensions: [] };
      const again = await conn.command(`EHLO ${options.helo}`, 'ehlo', t.commandMs, options.signal);
      if (again.kind !== 'reply') return finish(failure(again), 'ehlo');
      if (again.reply.code === 250) result.tls.extensions = extensionsOf(again.reply);
    }
    await quit(conn, t, options.signal);
    return finish(null, null);
  } finally {
    conn.close();
  }
}

async function quit(conn: SmtpConnection, t: PhaseTimeouts, signal?: AbortSignal): Promise<void> {
  // A polite QUIT; its answer does not change the verdict, so wait briefly.
  await conn.command('QUIT', 'quit', Math.min(t.commandMs, 2000), signal);
}
