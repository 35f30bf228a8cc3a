/**
 * @module dns/transport/pool
 * UDP for bulk work: a few long-lived sockets shared by every question instead of a socket per question.
 * Each socket is bound by the OS to its own random ephemeral port; each query gets an unpredictable ID that is
 * not in use on its socket (RFC 5452 §9.2: port and ID together are the defence against spoofing). A reply is
 * matched to its query by socket and ID and then validated exactly as a one-shot exchange is (source address and
 * port, ID, question: RFC 5452 §9.1); whatever fails is dropped and listed, and the wait goes on. A datagram
 * with no reply within the server's retransmission timeout (RFC 6298, from its measured round trips) is sent
 * again within the same time limit, so a lost one costs a little more than a round trip, not the whole limit.
 * Limits, IDs and time limits are shared with the TCP pool (bulk.ts).
 */
import { performance } from 'node:perf_hooks';
import type { BulkStats, Channel, Pending } from './bulk.js';
import { BulkPool, Burst, PASSED } from './bulk.js';
import type { DatagramIo, DatagramSocket } from './datagram.js';
import { openDatagram } from './datagram.js';
import type { ExchangeRequest } from './types.js';
import { IdTable } from './id-table.js';

export interface UdpPoolOptions {
  /** Sockets per server, each on its own random port. Default 4. */
  sockets?: number;
  /** Queries in flight at most (65,535 at most); more wait in order. Default 2048. */
  maxInflight?: number;
  /**
   * The sockets' I/O: `native` sends each burst with one system call and reads replies in batches (Linux, when
   * the native module is built: see `nativeDatagramIo`); `dgram` is node:dgram. Default `auto`: native where it
   * can be, else dgram.
   */
  io?: DatagramIo;
}

/** Counters of a pool's life, for summaries and tests. */
export type UdpPoolStats = BulkStats;

interface Slot extends Channel<Slot> {
  socket: DatagramSocket;
  connected: boolean;
  /** Whether datagrams were queued on the socket since its last flush. */
  dirty: boolean;
  /** Queries waiting for the connect to finish. */
  queue: Pending<Slot>[];
  /** The server's round-trip estimate, shared by its sockets. */
  rtt: RoundTrip;
}

/**
 * A server's smoothed round-trip time and its variation (RFC 6298 §2, in milliseconds), from replies to
 * datagrams sent once (Karn's rule: a reply to a resent one could answer either); the back-off of its
 * retransmission timeout; and its datagrams waiting to be sent again if no reply comes (see `onTick`).
 */
interface RoundTrip {
  srtt: number;
  rttvar: number;
  sampled: boolean;
  /** The factor the timeout is backed off by (RFC 6298 §5.5), until a reply to a datagram sent once (§5.7). */
  backoff: number;
  /** When the back-off last doubled: at most once per timeout, however many datagrams were resent. */
  backedOffAt: number;
  /** Datagrams in the order they are due to be sent again, as parallel queues; answered ones drop at the head. */
  due: { queries: Pending<Slot>[]; at: number[]; rto: number[]; head: number };
}

/** The retransmission timeout before any reply from the server: replies soon bring it down (or up). */
const INITIAL_RTO_MS = 250;
/** The least retransmission timeout: under it, a busy server's ordinary delays would bring needless resends. */
const MIN_RTO_MS = 100;
/** The most the timeout is backed off by. */
const MAX_BACKOFF = 64;

/** RFC 6298 §2.3: RTO = SRTT + 4·RTTVAR, at least MIN_RTO_MS, backed off, at most half the query's time limit. */
function rtoOf(rtt: RoundTrip, timeoutMs: number): number {
  const rto = Math.max(MIN_RTO_MS, rtt.sampled ? rtt.srtt + 4 * rtt.rttvar : INITIAL_RTO_MS);
  return Math.min(rto * rtt.backoff, timeoutMs / 2);
}

/** RFC 6298 §2.2–2.3 with α = 1/8, β = 1/4; a valid sample ends any back-off (§5.7). */
function sampleRtt(rtt: RoundTrip, ms: number): void {
  rtt.backoff = 1;
  if (!rtt.sampled) {
    rtt.srtt = ms;
    rtt.rttvar = ms / 2;
    rtt.sampled = true;
    return;
  }
  rtt.rttvar = 0.75 * rtt.rttvar + 0.25 * Math.abs(rtt.srtt - ms);
  rtt.srtt = 0.875 * rtt.srtt + 0.125 * ms;
}

const SOCKET_BUFFER = 4 * 1024 * 1024;

/**
 * A shared set of UDP sockets. Create one per scan (or per long-running process) and `close()` it at the end.
 * @example
 * const pool = new UdpPool();
 * const resolver = createResolver({ servers, pool });
 * …
 * await pool.close();
 */
export class UdpPool extends BulkPool<Slot> {
  readonly transport = 'udp' as const;
  /**
   * A burst wakes the server once where single datagrams wake it once each, and a wake-up costs more than the
   * send (measured: 69 µs of CPU per query one by one, 36 µs in bursts, against Knot on loopback).
   */
  private readonly outbox = new Burst<Pending<Slot>>((out) => {
    for (const p of out) this.write(p);
    this.flush();
  });
  /** Sockets with datagrams queued: each sends them as one burst at `flush`. */
  private readonly dirty: Slot[] = [];
  private readonly io: DatagramIo;

  /** Each server's round-trip estimate and resend queue, by channel key. */
  private readonly rtts = new Map<string, RoundTrip>();
  /** Queries sent more than once: their replies say nothing of the round trip. */
  private readonly repeated = new WeakSet<Pending<Slot>>();

  constructor(options: UdpPoolOptions = {}) {
    super(options.maxInflight ?? 2048, options.sockets ?? 4);
    this.io = options.io ?? 'auto';
  }

  /** The kind of I/O the pool's sockets use (`dgram` until one is open, or where native cannot be used). */
  get ioKind(): 'native' | 'dgram' {
    for (const list of this.channels.values()) for (const slot of list) return slot.socket.kind;
    return 'dgram';
  }

  protected async shutdown(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const list of this.channels.values()) {
      for (const slot of list) {
        for (const p of slot.pending.values()) this.finish(p, { kind: 'network', error: 'the UDP pool was closed' });
        closing.push(new Promise<void>((resolve) => slot.socket.close(resolve)));
      }
    }
    await Promise.all(closing);
  }

  protected transmit(p: Pending<Slot>): void {
    if (!p.channel.connected) p.channel.queue.push(p);
    else this.outbox.push(p);
  }

  /**
   * Queues the datagram on its socket. A connected socket reports what goes wrong (a refused port, a lost route)
   * as an error, which fails the socket's queries (see `open`); a datagram the kernel had no room for is covered
   * by the retransmission below, then by the time limit.
   */
  private write(p: Pending<Slot>): void {
    if (p.settled) return;
    this.enqueue(p);
    const rto = rtoOf(p.channel.rtt, p.req.timeoutMs);
    this.retransmitAfter(p, rto);
  }

  private enqueue(p: Pending<Slot>): void {
    const slot = p.channel;
    slot.socket.queue(p.req.bytes);
    if (!slot.dirty) {
      slot.dirty = true;
      this.dirty.push(slot);
    }
  }

  private flush(): void {
    for (const slot of this.dirty) {
      slot.dirty = false;
      slot.socket.flush();
    }
    this.dirty.length = 0;
  }

  private retransmitAfter(p: Pending<Slot>, rto: number): void {
    const due = p.channel.rtt.due;
    due.queries.push(p);
    due.at.push(performance.now() + rto);
    due.rto.push(rto);
  }

  /**
   * Sends again, with the same ID, each datagram that has had no reply within its retransmission timeout, and
   * doubles its timeout for the next time, while its time limit leaves half a timeout: a datagram lost on the
   * way costs about a round trip's worth of waiting, not the whole limit. A late reply to the first copy is as
   * good as one to the second. The server's timeout backs off too (RFC 6298 §5.5), until a reply to a datagram
   * sent once: a server grown slower than its timeout is not sent every query twice. Each server has its own
   * queue, so a slow one does not hold back the resends of a quick one.
   */
  protected override onTick(now: number): void {
    for (const rtt of this.rtts.values()) {
      const due = rtt.due;
      while (due.head < due.queries.length) {
        const p = due.queries[due.head]!;
        if (!p.settled && due.at[due.head]! > now) break;
        const rto = due.rto[due.head]!;
        due.queries[due.head++] = PASSED as Pending<Slot>;
        if (p.settled || p.expiresAt - now < rto / 2) continue;
        this.repeated.add(p);
        this.counters.resent++;
        if (now - rtt.backedOffAt >= rto && rtt.backoff < MAX_BACKOFF) {
          rtt.backoff *= 2;
          rtt.backedOffAt = now;
        }
        this.enqueue(p);
        this.retransmitAfter(p, 2 * rto);
      }
      if (due.head > 1024 && due.head * 2 > due.queries.length) {
        due.queries.splice(0, due.head);
        due.at.splice(0, due.head);
        due.rto.splice(0, due.head);
        due.head = 0;
      }
    }
    this.flush();
  }

  /**
   * A socket for the server (up to `sockets` per server), connected to it, so the kernel routes once and
   * delivers only that server's datagrams to it (the source check below stays, as the contract).
   */
  protected open(req: ExchangeRequest, key: string): Slot {
    const server = req.server;
    let rtt = this.rtts.get(key);
    if (!rtt) {
      rtt = {
        srtt: 0,
        rttvar: 0,
        sampled: false,
        backoff: 1,
        backedOffAt: -Infinity,
        due: { queries: [], at: [], rto: [], head: 0 },
      };
      this.rtts.set(key, rtt);
    }
    const slot: Slot = { socket: null!, pending: new IdTable(), connected: false, dirty: false, queue: [], rtt };
    // Throws at once for an address or port the socket layer refuses; the caller turns that into an outcome.
    // A large buffer (the kernel caps it at net.core.rmem_max): replies to a burst of queries arrive together,
    // and the default of about 200 KiB holds only a few hundred datagrams.
    slot.socket = openDatagram(
      server.host,
      server.port,
      {
        message: (msg, foreign) => this.receive(slot, msg, foreign),
        error: (err) => {
          // A socket-level error (rare: the connect failed, the interface went away) fails what waits on it. A
          // socket that never connected is dropped, so the next question gets a new one.
          for (const p of slot.pending.values()) this.finish(p, { kind: 'network', error: err.message });
          slot.queue = [];
          if (!slot.connected) {
            this.drop(key, slot);
            slot.socket.close(() => {});
          }
        },
        afterBatch: () => this.outbox.now(),
        connect: () => {
          slot.connected = true;
          for (const p of slot.queue) this.outbox.push(p);
          slot.queue = [];
        },
      },
      { io: this.io, receiveBufferBytes: SOCKET_BUFFER },
    );
    return slot;
  }

  private receive(slot: Slot, msg: Buffer, foreign: string | null): void {
    const p = this.pendingFor(slot, msg);
    if (!p) return;
    if (foreign !== null) {
      this.dropReply(p, `reply from an unexpected source ${foreign}`);
      return;
    }
    this.answer(p, msg);
    if (p.settled && !this.repeated.has(p)) sampleRtt(slot.rtt, performance.now() - p.start);
  }
}
