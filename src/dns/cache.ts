/**
 * @module dns/cache
 * A TTL-respecting cache of resolved questions with in-flight de-duplication, one per command run
 * (or per scan). It stores only outcomes of questions this client asked and validated; records that rode
 * along in other sections are never cached, so a reply cannot plant data for names it was not asked about.
 * Negative answers are kept for the SOA-derived time of RFC 2308 §5; failures (timeouts, SERVFAIL) are not kept.
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';

interface Entry<T> {
  value: T;
  storedAt: number;
  expiresAt: number;
  /** Insertions counted when the entry last moved to the young end (see `get`). */
  touched: number;
  /** The value as last handed out for an age, so a hot entry is not copied on every hit. */
  view: { age: number; value: T } | null;
}

export interface DnsCacheOptions {
  clock?: Clock;
  /** Entries kept at most; the oldest are evicted first. Default 10,000. */
  maxEntries?: number;
}

/** A bounded TTL map plus the promises of questions in flight. */
export class DnsCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inflight = new Map<string, Promise<T>>();
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private insertions = 0;
  /** Look-ups answered from the cache or from a question already in flight. */
  hits = 0;
  misses = 0;

  constructor(options: DnsCacheOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** The cached value and how many seconds it has aged, or undefined when absent or expired. */
  get(key: string): { value: T; ageSeconds: number } | undefined {
    const now = this.clock.now();
    const entry = this.fresh(key, now);
    if (!entry) return undefined;
    return { value: entry.value, ageSeconds: Math.floor((now - entry.storedAt) / 1000) };
  }

  /**
   * The value as seen at an age, made by `view` once per entry and age and then handed out as is: callers
   * must treat it as read-only.
   */
  getView(key: string, view: (value: T, ageSeconds: number) => T): T | undefined {
    const now = this.clock.now();
    const entry = this.fresh(key, now);
    if (!entry) return undefined;
    const age = Math.floor((now - entry.storedAt) / 1000);
    if (entry.view?.age !== age) entry.view = { age, value: view(entry.value, age) };
    return entry.view.value;
  }

  /** The live entry for a key (an expired one is dropped), moved towards the young end when due. */
  private fresh(key: string, now: number): Entry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    // Least recently used goes first: a hit moves the entry to the young end, so mail hosts shared by many
    // domains stay while each domain's own MX answer ages out (a scan of millions relies on this). An entry
    // that moved within the last quarter of the cache's turnover stays put: that is young enough, and a hot
    // entry is not re-inserted on every hit.
    if (this.insertions - entry.touched > this.maxEntries / 4) {
      entry.touched = this.insertions;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, value: T, ttlSeconds: number): void {
    if (!(ttlSeconds > 0)) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    const now = this.clock.now();
    this.insertions++;
    this.entries.delete(key);
    this.entries.set(key, {
      value,
      storedAt: now,
      expiresAt: now + ttlSeconds * 1000,
      touched: this.insertions,
      view: null,
    });
  }

  /**
   * Returns the cached value, joins a look-up already in flight, or runs `load` once and caches its result
   * for `ttlOf(result)` seconds.
   */
  async through(
    key: string,
    load: () => Promise<T>,
    ttlOf: (value: T) => number,
  ): Promise<{ value: T; cached: boolean; ageSeconds: number }> {
    const hit = this.get(key);
    if (hit) {
      this.hits++;
      return { value: hit.value, cached: true, ageSeconds: hit.ageSeconds };
    }
    const joined = this.inflight.has(key);
    const value = await this.shared(key, this.storing(key, load, ttlOf), (v) => v);
    return { value, cached: joined, ageSeconds: 0 };
  }

  /**
   * Like `through`, but a hit (or a joined look-up) returns `view(value, ageSeconds)`, made once per entry and
   * age (see `getView`); a miss returns the loaded value itself. `shared` is the same without keeping anything.
   */
  async throughView(
    key: string,
    load: () => Promise<T>,
    ttlOf: (value: T) => number,
    view: (value: T, ageSeconds: number) => T,
  ): Promise<T> {
    const hit = this.getView(key, view);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    return this.shared(key, this.storing(key, load, ttlOf), view);
  }

  /**
   * Joins a look-up of `key` already in flight (its value seen through `view` at age 0), or runs `load` as the
   * one later callers join. Nothing is kept once it settles (see `through` for that).
   */
  shared(key: string, load: () => Promise<T>, view: (value: T, ageSeconds: number) => T): Promise<T> {
    const pending = this.inflight.get(key);
    if (pending) {
      this.hits++;
      return pending.then((value) => view(value, 0));
    }
    this.misses++;
    const promise = load();
    this.inflight.set(key, promise);
    const forget = (): void => {
      if (this.inflight.get(key) === promise) this.inflight.delete(key);
    };
    promise.then(forget, forget);
    return promise;
  }

  /** `load`, with its result kept for `ttlOf(result)` seconds before anyone waiting on it sees it. */
  private storing(key: string, load: () => Promise<T>, ttlOf: (value: T) => number): () => Promise<T> {
    return () =>
      load().then((value) => {
        this.set(key, value, ttlOf(value));
        return value;
      });
  }

  get size(): number {
    return this.entries.size;
  }
}
