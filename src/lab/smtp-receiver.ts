/**
 * @module lab/smtp-receiver
 * A lab mail server on one loopback address: smtp-server (the Node ecosystem's well-kept SMTP server) behind
 * our own listener, so faults that smtp-server cannot express (`down`: nothing listens; `silent`: a socket
 * that never greets) are real at the TCP level. STARTTLS uses a generated certificate. Accepted messages are
 * kept in memory and, with a spool directory, written as .eml files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { MxError } from '../core/errors.js';
import type { KeyPair } from './certificate.js';
import type { Fault } from './faults.js';

export interface ReceivedMessage {
  /** The receiver's host names (the exchanges on its address). */
  hosts: string[];
  address: string;
  port: number;
  from: string;
  to: string[];
  tls: boolean;
  receivedAt: string;
  /** The queue id the receiver gave in its 250 reply. */
  queueId: string;
  data: Buffer;
}

export interface ReceiverOptions {
  address: string;
  port: number;
  /** The exchanges served on this address; the first names the server in its greeting. */
  hosts: string[];
  fault?: Fault;
  tls: KeyPair;
  /** Directory for .eml copies of accepted messages. */
  spoolDir?: string | null;
  /** Delay of the `slow` fault. Default 2000 ms. */
  slowMs?: number;
  /** Called for every accepted message. */
  onMessage?: (message: ReceivedMessage) => void;
  /** Offer STARTTLS (default true). */
  starttls?: boolean;
  /** The name in the greeting and EHLO reply (default: the first host). */
  name?: string;
}

export interface Receiver {
  readonly address: string;
  readonly port: number;
  readonly hosts: string[];
  readonly fault: Fault;
  readonly messages: ReceivedMessage[];
  /** Changes the behaviour; `down` stops listening, leaving `down` listens again. */
  setFault(fault: Fault): Promise<void>;
  close(): Promise<void>;
}

const withCode = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode });

/** Starts a receiver. Throws MX_LAB_BIND when the address cannot be bound. */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  let fault: Fault = options.fault ?? 'none';
  const slowMs = options.slowMs ?? 2000;
  const messages: ReceivedMessage[] = [];
  const sockets = new Set<Socket>();
  let counter = 0;
  const name = options.name ?? options.hosts[0] ?? options.address;
  const pause = () => (fault === 'slow' ? new Promise((r) => setTimeout(r, slowMs)) : Promise.resolve());

  const smtp = new SMTPServer({
    name,
    banner: 'mxray lab',
    key: options.tls.key,
    cert: options.tls.cert,
    disableReverseLookup: true,
    hideSTARTTLS: options.starttls === false,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    socketTimeout: 60_000,
    closeTimeout: 1000,
    onConnect(_session, callback) {
      void pause().then(() =>
        fault === 'tempfail' ? callback(withCode(`${name} is not available now, try later`, 421)) : callback(),
      );
    },
    onMailFrom(_address, _session, callback) {
      void pause().then(() => callback());
    },
    onRcptTo(address, _session, callback) {
      void pause().then(() =>
        fault === 'reject' ? callback(withCode(`5.1.1 <${address.address}>: no such user here`, 550)) : callback(),
      );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        void (async () => {
          await pause();
          if (stream.sizeExceeded) return callback(withCode('5.3.4 message too big', 552));
          const queueId = `${Date.now().toString(36)}${(++counter).toString(36)}`.toUpperCase();
          const message: ReceivedMessage = {
            hosts: options.hosts,
            address: options.address,
            port: listeningPort,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            tls: session.secure,
            receivedAt: new Date().toISOString(),
            queueId,
            data: Buffer.concat(chunks),
          };
          messages.push(message);
          if (options.spoolDir) {
            await mkdir(options.spoolDir, { recursive: true });
            await writeFile(
              join(options.spoolDir, `${message.receivedAt.replace(/[:.]/g, '-')}-${name}-${queueId}.eml`),
              message.data,
            );
          }
          options.onMessage?.(message);
          callback(null, `2.0.0 queued as ${queueId}`);
        })().catch((err: unknown) => callback(withCode(`4.3.0 ${(err as Error).message}`, 451)));
      });
    },
  });
  smtp.on('error', () => {
    // Client misbehaviour (a reset socket) is that client's problem; the receiver goes on.
  });

  let server: Server | null = null;
  let listeningPort = options.port;

  const listen = async (): Promise<void> => {
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      if (fault === 'silent') return; // accepted, never greeted
      smtp.connect(socket);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new MxError(
            'MX_LAB_BIND',
            `cannot listen on ${options.address}:${listeningPort}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        ),
      );
      s.listen(listeningPort, options.address, () => resolve());
    });
    const addr = s.address();
    if (addr && typeof addr === 'object') listeningPort = addr.port;
    server = s;
  };
  const unlisten = async (): Promise<void> => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  if (fault !== 'down') await listen();

  return {
    address: options.address,
    get port() {
      return listeningPort;
    },
    hosts: options.hosts,
    get fault() {
      return fault;
    },
    messages,
    async setFault(next: Fault) {
      const wasDown = fault === 'down';
      fault = next;
      if (next === 'down' && !wasDown) await unlisten();
      if (next !== 'down' && wasDown) await listen();
      if (next !== 'silent') for (const socket of sockets) if (socket.bytesWritten === 0) socket.destroy();
    },
    async close() {
      await unlisten();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
