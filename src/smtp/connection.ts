/**
 * @module smtp/connection
 * A bounded SMTP client connection (RFC 5321 §4.1, §4.5.3.2 timeouts; RFC 3207 STARTTLS).
 *
 * Written on node:net/node:tls rather than nodemailer's SMTPConnection because a probe must survive hostile
 * servers: every read has a whole-reply deadline that a server trickling one byte at a time cannot extend
 * (an idle timeout, as in nodemailer, can be extended forever), replies are size-limited, and the
 * transcript records each line with its time and whether it was inside TLS.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { connect as tlsConnect, rootCertificates } from 'node:tls';
import { deadline } from '../core/signal.js';
import type { ReplyLimits, SmtpReply } from './reply.js';
import { DEFAULT_REPLY_LIMITS, ReplyReader } from './reply.js';
import { Transcript } from './transcript.js';

export type Phase =
  | 'connect'
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'tls'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'message'
  | 'rset'
  | 'quit';

/** The result of waiting for a reply. */
export type ReplyOutcome =
  | { kind: 'reply'; reply: SmtpReply }
  | { kind: 'timeout'; phase: Phase; afterMs: number }
  | { kind: 'closed'; phase: Phase; error: string }
  | { kind: 'protocol-error'; phase: Phase; error: string };

export type ConnectOutcome =
  | { kind: 'connected'; connection: SmtpConnection; connectMs: number }
  | { kind: 'refused' | 'timeout' | 'network'; error: string; connectMs: number };

export interface TlsInfo {
  protocol: string | null;
  cipher: string | null;
  certificate: PeerCertificate | null;
  /** Chain validation against Node's CA store (and NODE_EXTRA_CA_CERTS). */
  authorized: boolean;
  authorizationError: string | null;
}

export type TlsOutcome = { kind: 'ok'; tls: TlsInfo } | { kind: 'tls-failed'; error: string };

export interface ConnectOptions {
  address: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  limits?: ReplyLimits;
  transcript?: Transcript;
}

/** One SMTP connection. Methods return outcomes; only the caller's abort throws. */
export class SmtpConnection {
  private socket: Socket;
  private reader: ReplyReader;
  private tlsActive = false;
  private error: string | null = null;
  private ended = false;
  private wake: (() => void) | null = null;
  readonly transcript: Transcript;

  private constructor(socket: Socket, transcript: Transcript, limits: ReplyLimits) {
    this.socket = socket;
    this.transcript = transcript;
    this.reader = new ReplyReader(limits);
    this.attach(socket);
  }

  /** Opens a TCP connection within `timeoutMs`. */
  static open(options: ConnectOptions): Promise<ConnectOutcome> {
    options.signal?.throwIfAborted();
    const transcript = options.transcript ?? new Transcript();
    transcript.add('*', `connecting to ${options.address}:${options.port}`, false);
    const limit = deadline(options.signal, options.timeoutMs);
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: options.address, port: options.port });
      const done = () => {
        limit.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
        socket.removeListener('connect', onConnect);
      };
      const onAbort = () => {
        done();
        socket.destroy();
        if (options.signal?.aborted) return reject(options.signal.reason);
        transcript.add('*', `no connection within ${options.timeoutMs} ms`, false);
        resolve({
          kind: 'timeout',
          error: `no TCP connection within ${options.timeoutMs} ms`,
          connectMs: transcript.elapsedMs,
        });
      };
      const onError = (err: NodeJS.ErrnoException) => {
        done();
        socket.destroy();
        transcript.add('*', `connection failed: ${err.code ?? err.message}`, false);
        resolve({
          kind: err.code === 'ECONNREFUSED' ? 'refused' : 'network',
          error: err.code === 'ECONNREFUSED' ? 'connection refused' : err.message,
          connectMs: transcript.elapsedMs,
        });
      };
      const onConnect = () => {
        done();
        transcript.add('*', `connected to ${options.address}:${options.port}`, false);
        resolve({
          kind: 'connected',
          connection: new SmtpConnection(socket, transcript, options.limits ?? DEFAULT_REPLY_LIMITS),
          connectMs: transcript.elapsedMs,
        });
      };
      if (limit.aborted) return onAbort();
      limit.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('connect', onConnect);
    });
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.wake?.();
    });
    socket.on('error', (err) => {
      this.error = err.message;
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  get isTls(): boolean {
    return this.tlsActive;
  }

  /** Waits for one whole reply within `timeoutMs` (the deadline covers the whole reply, however it trickles). */
  async read(phase: Phase, timeoutMs: number, signal?: AbortSignal): Promise<ReplyOutcome> {
    signal?.throwIfAborted();
    const limit = deadline(signal, timeoutMs);
    const started = performance.now();
    try {
      for (;;) {
        const r = this.reader.next();
        if (r.kind === 'reply') {
          for (const line of r.raw) this.transcript.add('S', line, this.tlsActive);
          return { kind: 'reply', reply: r.reply };
        }
        if (r.kind === 'protocol-error') {
          this.transcript.add('*', `protocol error: ${r.reason}`, this.tlsActive);
          this.close();
          return { kind: 'protocol-error', phase, error: r.reason };
        }
        if (this.error !== null || this.ended) {
          const error =
            this.error ??
            (this.reader.pending > 0
              ? 'connection closed in the middle of a reply'
              : 'connection closed by the server');
          this.transcript.add('*', error, this.tlsActive);
          return { kind: 'closed', phase, error };
        }
        if (limit.aborted) {
          if (signal?.aborted) throw signal.reason;
          const afterMs = Math.round(performance.now() - started);
          this.transcript.add('*', `no complete reply within ${timeoutMs} ms (${phase})`, this.tlsActive);
          return { kind: 'timeout', phase, afterMs };
        }
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          limit.addEventListener('abort', onAbort, { once: true });
          this.wake = () => {
            limit.removeEventListener('abort', onAbort);
            resolve();
          };
        });
        this.wake = null;
      }
    } finally {
      this.wake = null;
    }
  }

  /** Sends one command line (CRLF added) and waits for its reply. */
  async command(line: string, phase: Phase, timeoutMs: number, signal?: AbortSignal): Promise<ReplyOutcome> {
    if (/[\r\n\0]/.test(line))
      throw new Error(`BUG: an SMTP command with CR, LF or NUL reached the wire: ${JSON.stringify(line)}`);
    this.transcript.add('C', line, this.tlsActive);
    if (!this.write(`${line}\r\n`)) return { kind: 'closed', phase, error: this.error ?? 'connection closed' };
    return this.read(phase, timeoutMs, signal);
  }

  /** Writes raw bytes (the message body); false when the connection is gone. */
  write(data: string | Buffer): boolean {
    if (this.ended || this.socket.destroyed) return false;
    this.socket.write(data);
    return true;
  }

  /** Upgrades to TLS after a 220 to STARTTLS (RFC 3207 §4). The certificate is captured, never enforced here. */
  startTls(
    servername: string | null,
    timeoutMs: number,
    signal?: AbortSignal,
    ca?: readonly string[],
  ): Promise<TlsOutcome> {
    signal?.throwIfAborted();
    const limit = deadline(signal, timeoutMs);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.transcript.add('*', `TLS handshake${servername ? ` (SNI ${servername})` : ''}`, false);
    return new Promise((resolve, reject) => {
      const secure: TLSSocket = tlsConnect({
        socket: plain,
        ...(servername ? { servername } : {}),
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        // Extra trust anchors (a test CA) on top of Node's store, without touching the process environment.
        ...(ca && ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      });
      const finish = () => limit.removeEventListener('abort', onAbort);
      const onAbort = () => {
        finish();
        secure.destroy();
        if (signal?.aborted) return reject(signal.reason);
        this.transcript.add('*', `TLS handshake did not finish within ${timeoutMs} ms`, false);
        resolve({ kind: 'tls-failed', error: `TLS handshake did not finish within ${timeoutMs} ms` });
      };
      limit.addEventListener('abort', onAbort, { once: true });
      secure.once('error', (err: Error) => {
        finish();
        this.transcript.add('*', `TLS failed: ${err.message}`, false);
        resolve({ kind: 'tls-failed', error: err.message });
      });
      secure.once('secureConnect', () => {
        finish();
        secure.removeAllListeners('error');
        this.socket = secure;
        this.tlsActive = true;
        this.reader = new ReplyReader();
        this.attach(secure);
        const cipher = secure.getCipher();
        const cert = secure.getPeerCertificate(true);
        const info: TlsInfo = {
          protocol: secure.getProtocol(),
          cipher: cipher?.standardName ?? cipher?.name ?? null,
          certificate: cert && Object.keys(cert).length > 0 ? cert : null,
          authorized: secure.authorized,
          authorizationError: secure.authorizationError ? String(secure.authorizationError) : null,
        };
        this.transcript.add('*', `TLS established: ${info.protocol ?? '?'} ${info.cipher ?? ''}`.trim(), true);
        resolve({ kind: 'ok', tls: info });
      });
    });
  }

  /** Closes the connection at once. */
  close(): void {
    this.ended = true;
    this.socket.destroy();
  }
}
