/**
 * @module lab/dns-server
 * The lab's authoritative DNS server on UDP and TCP (RFC 1035 §4.2; RFC 7766 for TCP: two-octet length
 * framing, several queries per connection, an idle timeout). Answers come from lab/authority.ts; this file
 * only moves octets. It listens on loopback only (127.0.0.0/8, ::1): the lab never faces a network.
 */
import dgram from 'node:dgram';
import { channel } from 'node:diagnostics_channel';
import net from 'node:net';
import { MxError } from '../core/errors.js';
import { createAuthority, respond } from './authority.js';
import type { Authority, AuthorityOptions, Reply } from './authority.js';
import type { Zone } from './zone.js';

/** Diagnostics channel `mx:lab:dns:query`: `{ transport, remote, reply }` for every query handled. */
export const labDnsChannel = channel('mx:lab:dns:query');

export interface DnsServerOptions extends AuthorityOptions {
  zones: readonly Zone[];
  /** A loopback address: 127.0.0.0/8 or ::1 ('localhost' means 127.0.0.1). */
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  /** Close a TCP connection with no complete query for this long. Default 10000 (Knot's tcp-idle-timeout). */
  tcpIdleTimeoutMs?: number;
  /** Close a TCP connection that announces a query longer than this. Default 16384. */
  maxTcpQueryOctets?: number;
}

export interface DnsServer {
  host: string;
  port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** True for addresses in 127.0.0.0/8 and for ::1 (also written in full). */
export function isLoopbackAddress(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (!net.isIPv6(host)) return false;
  try {
    return new URL(`http://[${host}]/`).hostname === '[::1]'; // the WHATWG parser writes IPv6 in its shortest form
  } catch {
    return false;
  }
}

function bindError(host: string, port: number, transport: string, err: unknown): MxError {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const why = err instanceof Error ? err.message : String(err);
  return new MxError('MX_LAB_BIND', `cannot listen on ${address}/${transport}: ${why}`, { cause: err });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: net.isIPv6(host) });
    const onError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true, ipv6Only: net.isIPv6(host) }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/**
 * Starts the lab's DNS server on `host:port` (UDP and TCP). Throws MxError MX_LAB_NOT_LOOPBACK for an address
 * outside loopback, MX_LAB_BIND when the address cannot be bound, MX_ZONE_CONFLICT for two zones with one origin.
 * @example
 * const server = await startDnsServer({ zones: [zone], host: '127.0.0.1', port: 0 });
 * // dig @127.0.0.1 -p ${server.port} example.com MX
 * await server.close();
 */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const host = options.host === 'localhost' ? '127.0.0.1' : options.host;
  if (!isLoopbackAddress(host)) {
    throw new MxError(
      'MX_LAB_NOT_LOOPBACK',
      `the lab listens on loopback only (127.0.0.0/8 or ::1), not ${JSON.stringify(options.host)}`,
    );
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new MxError('MX_INVALID_ARGUMENT', `port ${String(options.port)} is not 0-65535`);
  }
  const authority = createAuthority(options.zones, options);
  const idleMs = options.tcpIdleTimeoutMs ?? 10_000;
  const maxQuery = options.maxTcpQueryOctets ?? 16_384;
  const connections = new Set<net.Socket>();
  const tcp = net.createServer((socket) => serveTcp(socket, authority, connections, idleMs, maxQuery));

  // With port 0, UDP picks the port and TCP must get the same one; another program may hold it on TCP,
  // so try a few ports before giving up.
  let udp: dgram.Socket | null = null;
  let port = options.port;
  for (let attempt = 0; ; attempt++) {
    try {
      udp = await bindUdp(host, options.port);
    } catch (err) {
      throw bindError(host, options.port, 'udp', err);
    }
    port = udp.address().port;
    try {
      await listenTcp(tcp, host, port);
      break;
    } catch (err) {
      await closeUdp(udp);
      udp = null;
      const code = (err as NodeJS.ErrnoException).code;
      if (options.port !== 0 || code !== 'EADDRINUSE' || attempt >= 4) throw bindError(host, port, 'tcp', err);
    }
  }
  const socket = udp;
  socket.on('message', (msg, rinfo) => {
    const reply = handle(authority, msg, 'udp', `${rinfo.address}:${rinfo.port}`);
    if (reply.kind === 'reply') socket.send(reply.bytes, rinfo.port, rinfo.address, () => undefined);
  });
  // After bind, socket errors (ICMP unreachable on some systems) must not crash the process.
  socket.on('error', () => undefined);
  tcp.on('error', () => undefined);

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      const tcpClosed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const c of connections) c.destroy();
      await Promise.all([closeUdp(socket), tcpClosed]);
    })();
    return closing;
  };
  return { host, port, close, [Symbol.asyncDispose]: close };
}

function handle(authority: Authority, msg: Buffer, transport: 'udp' | 'tcp', remote: string): Reply {
  let reply: Reply;
  try {
    reply = respond(authority, msg, { transport });
  } catch (err) {
    // A bug in answering must cost one query, never the server.
    reply = { kind: 'drop', reason: `internal error: ${(err as Error).message}`, malformed: false };
  }
  if (labDnsChannel.hasSubscribers) labDnsChannel.publish({ transport, remote, reply });
  return reply;
}

// RFC 7766 §8: each message is preceded by its length in two octets; a read may hold part of a message or
// several. Queries are answered in order; anything unreadable closes the connection, as Knot does.
function serveTcp(
  socket: net.Socket,
  authority: Authority,
  connections: Set<net.Socket>,
  idleMs: number,
  maxQuery: number,
): void {
  connections.add(socket);
  socket.setNoDelay(true);
  socket.setTimeout(idleMs, () => socket.destroy());
  socket.on('close', () => connections.delete(socket));
  socket.on('error', () => socket.destroy());
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (length > maxQuery) {
        socket.destroy();
        return;
      }
      if (pending.length < 2 + length) break;
      const msg = Buffer.from(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
      const reply = handle(authority, msg, 'tcp', remote);
      if (reply.kind === 'drop') {
        if (!reply.malformed) continue;
        socket.destroy();
        return;
      }
      const frame = Buffer.alloc(2 + reply.bytes.length);
      frame.writeUInt16BE(reply.bytes.length, 0);
      reply.bytes.copy(frame, 2);
      if (reply.malformed) {
        socket.end(frame);
        return;
      }
      socket.write(frame);
    }
  });
}
