/**
 * @module dns/transport/bulk
 * What the shared transports for bulk work (the UDP pool, pipelined TCP) have in common: an in-flight limit
 * that queues the excess in order, query IDs from the CSPRNG unique on their channel, time limits that cost
 * nothing per query (queries with the same limit expire in the order they were sent, so each limit keeps a FIFO
 * of deadlines and one timer pops the expired heads), abort, and counters. The sockets keep the process alive
 * only while a query is in flight.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MxError } from '../../core/errors.js';
import type { DnsResponse, DnsServer, Transport } from '../types.js';
import type { ExchangeOutcome, ExchangeRequest } from './types.js';
import { NOTHING_DROPPED } from './types.js';
import type { IdTable } from './id-table.js';
import { acceptReply } from './validate.js';

/** Counters of a pool's life, for summaries and tests. */
export interface BulkStats {
  sent: number;
  answered: number;
  timedOut: number;
  /**
   * Queries sent again within their time limit: a datagram with no reply after the retransmission timeout (UDP),
   * a query in flight on a connection that closed (TCP).
   */
  resent: number;
  /** Replies that matched no query in flight on their channel (late, duplicated or forged). */
  unmatched: number;
  inflight: number;
  queued: number;
  /** Queries the time-limit queues hold, answered ones not yet swept out included (bounded: see `schedule`). */
  deadlines: number;
}

/** A socket or connection that carries queries, each under an ID unique on it. */
export interface Channel<C extends Channel<C>> {
  pending: IdTable<Pending<C>>;
  socket: { ref(): unknown; unref(): unknown };
}

export interface Pending<C extends Channel<C>> {
  req: ExchangeRequest;
  channel: C;
  id: number;
  start: number;
  expiresAt: number;
  dropped: readonly string[];
  settled: boolean;
  resolve: (o: ExchangeOutcome) => void;
  reject: (e: unknown) => void;
  onAbort: (() => void) | null;
}

/** How a query ends, before the pool adds transport, time and drops. */
export type Ending =
  { kind: 'response'; response: DnsResponse } | { kind: 'timeout' } | { kind: 'network'; error: string };

/** A queue of deadlines for one time limit: sent in order, so they expire in order. */
interface DeadlineQueue<C extends Channel<C>> {
  items: Pending<C>[];
  head: number;
  /** Length at which the answered queries are swept out (see `schedule`). */
  sweepAt: number;
}

const SWEEP_FROM = 4096;

/** What a settled query's promise functions become. */
const SETTLED = (): void => {};

/**
 * What the slots a queue's head has passed hold instead of their query (the time-limit queues here, the UDP
 * resend queues): a query held until the queue is cut would outlive a young-generation collection or two.
 */
export const PASSED: { readonly settled: true } = { settled: true };

/** A query waiting for room; `gone` once its caller aborted. */
interface Waiter {
  go: () => void;
  gone: boolean;
}

/** Any shared transport a resolver can send its questions through. */
export interface ExchangePool {
  readonly transport: Transport;
  readonly stats: BulkStats;
  exchange(req: ExchangeRequest): Promise<ExchangeOutcome>;
  /**
   * `exchange` with callbacks instead of a promise, for hot paths (a scan sends millions of queries): `done` gets
   * the outcome, `fail` what `exchange` would reject with. Exactly one of them is called, never before this
   * returns. Optional: a resolver uses `exchange` where a pool has no `exchangeThen`.
   */
  exchangeThen?(req: ExchangeRequest, done: (o: ExchangeOutcome) => void, fail: (e: unknown) => void): void;
  close(): Promise<void>;
}

const ID_BATCH = 4096;
const MAX_IDS = 65_536;

/**
 * Collects items and hands them over together once per turn of the event loop (setImmediate, after this turn's
 * replies are read): the pools send in bursts, which wake a server once instead of once per query.
 */
export class Burst<T> {
  private items: T[] = [];
  private due = false;

  constructor(private readonly flush: (items: T[]) => void) {}

  push(item: T): void {
    this.items.push(item);
    if (this.due) return;
    this.due = true;
    setImmediate(() => {
      this.due = false;
      this.now();
    });
  }

  /** Hands over what was collected at once, without waiting for the turn to end. */
  now(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.flush(items);
  }
}

export abstract class BulkPool<C extends Channel<C>> implements ExchangePool {
  abstract readonly transport: Transport;
  protected closed = false;
  protected readonly counters = { sent: 0, answered: 0, timedOut: 0, resent: 0, unmatched: 0, inflight: 0 };
  private readonly maxInflight: number;
  private readonly deadlines = new Map<number, DeadlineQueue<C>>();
  private readonly waiting: Waiter[] = [];
  /** Waiters let in whose query is not sent yet: room is held for them. */
  private admitted = 0;
  private waitingHead = 0;
  private timer: NodeJS.Timeout | null = null;
  private ids = new Uint16Array(0);
  private idNext = 0;
  /** The channels of each server (`host|port`), used in turn. */
  protected readonly channels = new Map<string, C[]>();
  private readonly keys = new WeakMap<DnsServer, string>();
  private readonly perServer: number;
  private turn = 0;

  constructor(maxInflight: number, perServer: number) {
    // At most 65,535 in flight in all: then every channel has an ID free, however the queries are spread.
    this.maxInflight = Math.min(MAX_IDS - 1, Math.max(1, Math.floor(maxInflight)));
    this.perServer = Math.max(1, Math.floor(perServer));
  }

  get stats(): BulkStats {
    let queued = 0;
    for (let i = this.waitingHead; i < this.waiting.length; i++) if (!this.waiting[i]!.gone) queued++;
    let deadlines = 0;
    for (const q of this.deadlines.values()) deadlines += q.items.length - q.head;
    return { ...this.counters, queued, deadlines };
  }

  /** A new channel to the server of `req`, under `key`; throws for a server the socket layer refuses. */
  protected abstract open(req: ExchangeRequest, key: string): C;
  /** Puts the registered query on the wire (now or in the next burst). */
  protected abstract transmit(p: Pending<C>): void;
  /** Closes the sockets (after every query in flight has been failed). */
  protected abstract shutdown(): Promise<void>;

  /** Called at each tick of the timer (every 10 ms while queries are in flight). */
  protected onTick(_now: number): void {}

  /** Called after a query ends by its time limit (its channel may be at fault). */
  protected timedOut(_p: Pending<C>): void {}

  /** Whether a channel may take new queries (one on its way out is passed over). */
  protected usable(_channel: C): boolean {
    return true;
  }

  /** The channel a query goes on: the server's channels in turn, a new one while there are fewer than allowed. */
  protected channelFor(req: ExchangeRequest): C {
    // The key of a server object, made once: a scan asks the same few server objects millions of times.
    let key = this.keys.get(req.server);
    if (key === undefined) {
      key = `${req.server.host}|${req.server.port}`;
      this.keys.set(req.server, key);
    }
    let list = this.channels.get(key);
    if (!list) {
      list = [];
      this.channels.set(key, list);
    }
    for (let i = list.length - 1; i >= 0; i--) if (!this.usable(list[i]!)) list.splice(i, 1);
    if (list.length >= this.perServer) return list[this.turn++ % list.length]!;
    const channel = this.open(req, key);
    if (!this.busy) channel.socket.unref();
    list.push(channel);
    return channel;
  }

  /** Forgets a channel (closed, or never opened): the next query to its server gets another. */
  protected drop(key: string, channel: C): void {
    const list = this.channels.get(key);
    const at = list?.indexOf(channel) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
  }

  /**
   * Sends the query and waits for a reply that matches it, the time limit or the caller's abort. The pool
   * chooses the query ID (written into `req.bytes` and `req.id`, so both must be the caller's own). Throws only the
   * caller's abort reason, or MX_CLOSED after `close()`.
   */
  exchange(req: ExchangeRequest): Promise<ExchangeOutcome> {
    // Not an async function: the common path makes one promise, not two (a scan makes millions).
    if (!this.sendsNow(req)) return this.exchangeLater(req);
    return new Promise<ExchangeOutcome>((resolve, reject) => this.send(req, resolve, reject));
  }

  exchangeThen(req: ExchangeRequest, done: (o: ExchangeOutcome) => void, fail: (e: unknown) => void): void {
    if (this.sendsNow(req)) this.send(req, done, fail);
    else this.exchangeLater(req).then(done, fail);
  }

  /** Whether a query goes out at once: not aborted, the pool open, nobody in line, room under the limit. */
  private sendsNow(req: ExchangeRequest): boolean {
    return (
      req.signal?.aborted !== true &&
      !this.closed &&
      this.waitingHead >= this.waiting.length &&
      this.counters.inflight + this.admitted < this.maxInflight
    );
  }

  /** A query that cannot go out at once: refused (aborted, closed), or in line for room. */
  private exchangeLater(req: ExchangeRequest): Promise<ExchangeOutcome> {
    if (req.signal?.aborted) return Promise.reject(req.signal.reason as Error);
    if (this.closed) return Promise.reject(this.closedError());
    return this.exchangeWhenAdmitted(req);
  }

  /** Closes the pool; queries still in flight end as network failures, queued ones are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.shutdown();
    while (this.waitingHead < this.waiting.length) {
      const waiter = this.waiting[this.waitingHead++]!;
      if (waiter.gone) continue;
      this.admitted++;
      waiter.go();
    }
    this.stopTimer();
  }

  private closedError(): MxError {
    return new MxError('MX_CLOSED', `the ${this.transport.toUpperCase()} pool is closed`);
  }

  /** Waits in line for room under the in-flight limit, then sends; an abort leaves the line at once. */
  private async exchangeWhenAdmitted(req: ExchangeRequest): Promise<ExchangeOutcome> {
    const signal = req.signal;
    let onAbort: (() => void) | null = null;
    await new Promise<void>((go, reject) => {
      const waiter: Waiter = { go, gone: false };
      this.waiting.push(waiter);
      if (signal) {
        onAbort = () => {
          waiter.gone = true;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
    }).finally(() => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    });
    this.admitted--;
    if (this.closed) throw this.closedError();
    if (signal?.aborted) {
      // Aborted between being let in and running: the room goes to the next in line.
      this.admit();
      throw signal.reason;
    }
    return new Promise<ExchangeOutcome>((resolve, reject) => this.send(req, resolve, reject));
  }

  private send(req: ExchangeRequest, resolve: (o: ExchangeOutcome) => void, reject: (e: unknown) => void): void {
    let channel: C;
    try {
      channel = this.channelFor(req);
    } catch (err) {
      // A server the socket layer refuses outright (a port out of range from a library caller). Its room
      // under the limit was never taken: the next in line may have it. Settled in a later step, as a reply would be.
      const error = (err as Error).message;
      queueMicrotask(() => resolve({ kind: 'network', transport: this.transport, error, elapsedMs: 0, dropped: [] }));
      this.admit();
      return;
    }
    const id = this.freeId(channel);
    req.bytes.writeUInt16BE(id, 0);
    req.id = id;
    const start = performance.now();
    const p: Pending<C> = {
      req,
      channel,
      id,
      start,
      expiresAt: start + req.timeoutMs,
      dropped: NOTHING_DROPPED,
      settled: false,
      resolve,
      reject,
      onAbort: null,
    };
    channel.pending.set(id, p);
    if (this.counters.inflight++ === 0) this.ref();
    this.counters.sent++;
    this.schedule(p);
    if (req.signal) {
      const signal = req.signal;
      p.onAbort = () => this.finish(p, null, signal.reason);
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
    this.transmit(p);
  }

  /** The query in flight a reply is for, by its ID on the channel; counted as unmatched when there is none. */
  protected pendingFor(channel: C, msg: Buffer): Pending<C> | undefined {
    const p = channel.pending.get(msg.length >= 2 ? msg.readUInt16BE(0) : -1);
    if (!p) this.counters.unmatched++;
    return p;
  }

  /** Validates a reply to its query (ID, question, well-formed): settles the query, or drops and lists it. */
  protected answer(p: Pending<C>, msg: Buffer): void {
    const verdict = acceptReply(msg, p.id, p.req.question);
    if (verdict.ok) this.finish(p, { kind: 'response', response: verdict.response });
    else this.dropReply(p, verdict.reason);
  }

  /** Lists a reply that was not taken for its query (which goes on waiting). */
  protected dropReply(p: Pending<C>, reason: string): void {
    // The query's own list once it has one (made here, so it may grow); the shared empty one is never added to.
    if (p.dropped === NOTHING_DROPPED) p.dropped = [reason];
    else (p.dropped as string[]).push(reason);
  }

  /** Settles a query once: with an outcome, or (outcome null) by rejecting with the caller's abort reason. */
  protected finish(p: Pending<C>, outcome: Ending | null, reason?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    if (p.channel.pending.get(p.id) === p) p.channel.pending.delete(p.id);
    if (p.onAbort) p.req.signal?.removeEventListener('abort', p.onAbort);
    if (--this.counters.inflight === 0) this.unref();
    this.admit();
    // The settled query may stay in the time-limit and resend queues a while (behind one still waiting there):
    // through its promise's functions it would keep the whole outcome alive, reply and records, long enough for
    // the garbage collector to move it to the old generation, at the cost of a full collection later.
    const { resolve, reject } = p;
    p.resolve = SETTLED;
    p.reject = SETTLED;
    if (outcome === null) {
      reject(reason);
      return;
    }
    const elapsedMs = Math.round(performance.now() - p.start);
    // Built field by field: a spread costs more than the rest of this function (millions of times in a scan).
    const transport = this.transport;
    const dropped = p.dropped;
    if (outcome.kind === 'response') {
      this.counters.answered++;
      resolve({ kind: 'response', response: outcome.response, transport, elapsedMs, dropped });
    } else if (outcome.kind === 'timeout') resolve({ kind: 'timeout', transport, elapsedMs, dropped });
    else resolve({ kind: 'network', error: outcome.error, transport, elapsedMs, dropped });
  }

  /** Lets waiting queries in while there is room. */
  private admit(): void {
    while (this.waitingHead < this.waiting.length && this.counters.inflight + this.admitted < this.maxInflight) {
      const waiter = this.waiting[this.waitingHead++]!;
      if (waiter.gone) continue;
      // Held now, so the room is not given twice before the waiter runs.
      this.admitted++;
      waiter.go();
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private schedule(p: Pending<C>): void {
    let q = this.deadlines.get(p.req.timeoutMs);
    if (!q) {
      q = { items: [], head: 0, sweepAt: SWEEP_FROM };
      this.deadlines.set(p.req.timeoutMs, q);
    }
    q.items.push(p);
    // A query still waiting at the head (a lost datagram waits out its whole limit) holds every answered one
    // behind it: sweep those out whenever the queue has doubled, so memory stays bounded by what is in flight.
    if (q.items.length - q.head >= q.sweepAt) {
      q.items = q.items.slice(q.head).filter((x) => !x.settled);
      q.head = 0;
      q.sweepAt = Math.max(SWEEP_FROM, 2 * q.items.length);
    }
    if (!this.timer) this.startTimer();
  }

  private tick(): void {
    const now = performance.now();
    this.onTick(now);
    for (const [limit, q] of this.deadlines) {
      while (q.head < q.items.length) {
        const p = q.items[q.head]!;
        if (!p.settled && p.expiresAt > now) break;
        q.items[q.head++] = PASSED as Pending<C>; // let go of it now (see PASSED)
        if (!p.settled) {
          this.counters.timedOut++;
          this.finish(p, { kind: 'timeout' });
          this.timedOut(p);
        }
      }
      if (q.head === q.items.length) this.deadlines.delete(limit);
      else if (q.head > 1024) {
        q.items.splice(0, q.head);
        q.head = 0;
      }
    }
    if (this.deadlines.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    // Fine enough for limits of a second or more; a limit under 100 ms is still met within 10 ms.
    this.timer = setInterval(() => this.tick(), 10);
    if (this.counters.inflight === 0) this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  protected ref(): void {
    for (const list of this.channels.values()) for (const c of list) c.socket.ref();
    this.timer?.ref();
  }

  protected unref(): void {
    for (const list of this.channels.values()) for (const c of list) c.socket.unref();
    this.timer?.unref();
  }

  protected get busy(): boolean {
    return this.counters.inflight > 0;
  }

  /** An unpredictable ID not in use on the channel (one is always free: see `maxInflight`). */
  protected freeId(channel: C): number {
    let id = this.nextId();
    while (channel.pending.has(id)) id = this.nextId();
    return id;
  }

  /** An unpredictable 16-bit ID, from the CSPRNG in batches (one call per 4,096 queries). */
  private nextId(): number {
    if (this.idNext >= this.ids.length) {
      this.ids = randomFillSync(new Uint16Array(ID_BATCH));
      this.idNext = 0;
    }
    return this.ids[this.idNext++]!;
  }
}
