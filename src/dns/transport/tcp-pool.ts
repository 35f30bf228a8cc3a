/**
 * @module dns/transport/tcp-pool
 * Pipelined DNS over TCP for bulk work (RFC 7766 §6.2.1): a few long-lived connections per server, many
 * queries in flight on each, replies matched by ID in whatever order they come (§7). Queries go out in bursts,
 * one write per connection per turn of the event loop, and a read brings back many replies at once: on
 * loopback this costs a few µs of CPU per query where a datagram costs about 20 (two system calls and a
 * wake-up each), and nothing is lost or truncated on the way.
 *
 * A connection the server closes (idle timeout, a per-connection query limit, a restart) is replaced: queries
 * it left unanswered are sent once more on a new connection, then fail as network errors. So is a connection
 * that brings nothing back for a whole time limit. A connection that never opens fails its queries at once.
 */
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Channel, Pending } from './bulk.js';
import { BulkPool, Burst } from './bulk.js';
import type { ExchangeRequest } from './types.js';
import { IdTable } from './id-table.js';

export interface TcpPoolOptions {
  /** Connections per server. Default 2. */
  connections?: number;
  /** Queries in flight at most, over all connections (65,535 at most); more wait in order. Default 2048. */
  maxInflight?: number;
}

interface Conn extends Channel<Conn> {
  socket: Socket;
  key: string;
  open: boolean;
  gone: boolean;
  /** Queries waiting for this turn's write. */
  out: Pending<Conn>[];
  /** Octets of a reply not complete yet. */
  rest: Buffer | null;
  /** When the connection last brought data (at first, when it was made: before any query on it was sent). */
  heard: number;
  /** The write held back for more queries, when one is (see `write`). */
  held: NodeJS.Timeout | null;
}

/**
 * Queries gathered into one write while the server has plenty to work on. A write on loopback costs about as
 * much as the TCP work of both ends for it (measured: 18 µs); at 200 queries in flight, replies come back a few
 * at a time, and a write per turn of the event loop carried 5 queries on average.
 */
const GATHER = 32;
/** How long a gathered write may wait for more queries at most. */
const GATHER_MS = 1;

export class TcpPool extends BulkPool<Conn> {
  readonly transport = 'tcp' as const;
  private readonly resent = new WeakSet<Pending<Conn>>();
  private readonly dirty = new Burst<Conn>((conns) => {
    for (const c of conns) this.write(c);
  });

  constructor(options: TcpPoolOptions = {}) {
    super(options.maxInflight ?? 2048, options.connections ?? 2);
  }

  protected shutdown(): Promise<void> {
    for (const list of this.channels.values()) {
      for (const conn of list) {
        conn.gone = true;
        if (conn.held) clearTimeout(conn.held);
        for (const p of conn.pending.values()) this.finish(p, { kind: 'network', error: 'the TCP pool was closed' });
        conn.socket.destroy();
      }
    }
    this.channels.clear();
    return Promise.resolve();
  }

  /**
   * A connection whose end the server has sent takes nothing new: its close is on the way (a restart closes
   * every connection at once, and queries resent from the first must not land on the next).
   */
  protected override usable(conn: Conn): boolean {
    return !conn.socket.readableEnded;
  }

  protected open(req: ExchangeRequest, key: string): Conn {
    // Throws at once for an address or port the socket layer refuses; the caller turns that into an outcome.
    const socket = connect({ host: req.server.host, port: req.server.port, noDelay: true });
    const conn: Conn = {
      socket,
      key,
      open: false,
      gone: false,
      pending: new IdTable(),
      out: [],
      rest: null,
      heard: performance.now(),
      held: null,
    };
    socket.on('connect', () => {
      conn.open = true;
      if (conn.out.length > 0) this.dirty.push(conn);
    });
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', (err) => this.lose(conn, err.message));
    socket.on('close', () => this.lose(conn, 'the server closed the connection'));
    return conn;
  }

  protected transmit(p: Pending<Conn>): void {
    p.channel.out.push(p);
    if (p.channel.open) this.dirty.push(p.channel);
  }

  /**
   * One write for every query queued on the connection: each message behind its two-octet length. While the
   * server still has at least twice `GATHER` queries of this connection to answer, a write of fewer than `GATHER`
   * waits (a millisecond at most) for more: the server is not kept waiting, and each write carries more.
   */
  private write(conn: Conn, now = false): void {
    if (conn.gone || conn.out.length === 0) return;
    if (!now && conn.out.length < GATHER && conn.pending.size - conn.out.length >= 2 * GATHER) {
      conn.held ??= setTimeout(() => {
        conn.held = null;
        this.write(conn, true);
      }, GATHER_MS);
      return;
    }
    if (conn.held) {
      clearTimeout(conn.held);
      conn.held = null;
    }
    const out = conn.out;
    conn.out = [];
    let size = 0;
    for (const p of out) if (!p.settled) size += 2 + p.req.bytes.length;
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    for (const p of out) {
      if (p.settled) continue;
      buf.writeUInt16BE(p.req.bytes.length, at);
      p.req.bytes.copy(buf, at + 2);
      at += 2 + p.req.bytes.length;
    }
    if (size > 0) conn.socket.write(buf);
  }

  private receive(conn: Conn, chunk: Buffer): void {
    conn.heard = performance.now();
    let buf = conn.rest ? Buffer.concat([conn.rest, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 2) {
      const len = buf.readUInt16BE(at);
      if (buf.length - at - 2 < len) break;
      const msg = buf.subarray(at + 2, at + 2 + len);
      const p = this.pendingFor(conn, msg);
      if (p) this.answer(p, msg);
      at += 2 + len;
    }
    buf = buf.subarray(at);
    conn.rest = buf.length > 0 ? Buffer.from(buf) : null;
  }

  /**
   * A query timed out on a connection that has brought nothing since before the query was sent: the connection
   * is taken as dead (a middlebox that forgot it, a server that stopped reading) and replaced, so retries do not
   * go down the same hole; its other queries are sent once more on the new one.
   */
  protected override timedOut(p: Pending<Conn>): void {
    const conn = p.channel;
    if (!conn.gone && conn.open && conn.heard <= p.start) {
      this.lose(conn, `no reply on the connection for ${Math.round(performance.now() - conn.heard)} ms`);
    }
  }

  /**
   * The connection is gone: it is forgotten, and its unanswered queries are sent once more on another one when
   * it had been open (the server may close idle or busy connections at any time, RFC 7766 §6.2.3), or fail.
   */
  private lose(conn: Conn, why: string): void {
    if (conn.gone) return;
    conn.gone = true;
    if (conn.held) clearTimeout(conn.held);
    conn.socket.destroy();
    this.drop(conn.key, conn);
    const left = [...conn.pending.values()];
    conn.pending.clear();
    for (const p of left) {
      if (p.settled) continue;
      const error = conn.open ? `${why} with the query unanswered` : why;
      if (!conn.open || this.resent.has(p) || this.closed) {
        conn.pending.set(p.id, p); // so finish() finds it where it was
        this.finish(p, { kind: 'network', error });
        continue;
      }
      this.resent.add(p);
      this.counters.resent++;
      this.resend(p, error);
    }
  }

  private resend(p: Pending<Conn>, error: string): void {
    let conn: Conn;
    try {
      conn = this.channelFor(p.req);
    } catch (err) {
      p.channel.pending.set(p.id, p);
      this.finish(p, { kind: 'network', error: `${error}; reconnecting failed: ${(err as Error).message}` });
      return;
    }
    p.channel = conn;
    const id = conn.pending.has(p.id) ? this.freeId(conn) : p.id;
    if (id !== p.id) {
      p.id = id;
      p.req.id = id;
      p.req.bytes.writeUInt16BE(id, 0);
    }
    conn.pending.set(id, p);
    this.transmit(p);
  }
}
