/**
 * @module scan/summary
 * What a scan found, aggregated as records stream past: outcome counts, the most used exchanges, the hosted-mail
 * providers behind the MX sets (matched as `detectProvider` does), and the slowest domains. Memory is bounded by the number of
 * distinct exchanges and providers, not by the number of domains.
 */
import type { Severity } from '../check/findings.js';
import type { RouteOutcome } from '../mx/route.js';
import { providerOfExchange } from '../zone/presets.js';

type Provider = NonNullable<ReturnType<typeof providerOfExchange>>;
import type { ScanRecord } from './record.js';

export interface ScanSummary {
  /** Records seen (domains scanned plus lines in error). */
  total: number;
  outcomes: Record<RouteOutcome, number>;
  /** Lines not scanned (`error` set). */
  errors: number;
  /** Exchanges by the number of domains that use them, most first. */
  topExchanges: { exchange: string; domains: number }[];
  /** Hosted-mail providers by the number of domains, most first. */
  topProviders: { provider: string; name: string; domains: number }[];
  /** The slowest domains, slowest first. */
  slowest: { domain: string; line: number; elapsedMs: number }[];
  /** With `--what check`: findings by the number of domains that have them, most first (else empty). */
  topFindings: { id: string; severity: Severity; domains: number }[];
}

export interface ScanSummaryBuilder {
  add(record: ScanRecord): void;
  /** Counts the findings of one audited domain (each id once per domain). */
  addFindings(findings: readonly { id: string; severity: Severity }[]): void;
  result(): ScanSummary;
}

export interface SummaryOptions {
  /** Entries kept in each top list. Default 10. */
  top?: number;
  /**
   * Distinct exchanges counted at most (default 20,000), so memory stays flat over millions of domains: when
   * the table is full, the less used half is dropped. Exchanges shared by many domains — the top list — stay,
   * with exact counts unless they were ever dropped; one-off hosts (`mail.<each domain>`) come and go.
   */
  maxExchanges?: number;
}

/**
 * Creates an aggregator; feed it every record, then read `result()`.
 * @example
 * const summary = createScanSummary();
 * for await (const r of scanDomains(lines, opts)) summary.add(r);
 * summary.result().outcomes.deliverable
 */
export function createScanSummary(options: SummaryOptions = {}): ScanSummaryBuilder {
  const top = options.top ?? 10;
  const outcomes: Record<RouteOutcome, number> = {
    deliverable: 0,
    'null-mx': 0,
    'no-mail-route': 0,
    'no-domain': 0,
    'temp-failure': 0,
  };
  const maxExchanges = Math.max(2 * top, options.maxExchanges ?? 20_000);
  /**
   * Each exchange's count of domains and its provider (the patterns are regular expressions: asked once), in one
   * entry: one look-up per host of a record, counted in place.
   */
  const exchanges = new Map<string, { domains: number; provider: Provider | null }>();
  const countExchange = (name: string): Provider | null => {
    const seen = exchanges.get(name);
    if (seen !== undefined) {
      seen.domains++;
      return seen.provider;
    }
    if (exchanges.size >= maxExchanges) {
      // Keep the more used half: the amortised cost is a sort of the table per maxExchanges / 2 new names.
      const counts = [...exchanges.values()].map((e) => e.domains).sort((a, b) => b - a);
      const line = counts[Math.floor(maxExchanges / 2)]!;
      for (const [n, e] of exchanges) if (e.domains <= line) exchanges.delete(n);
    }
    const provider = providerOfExchange(name);
    exchanges.set(name, { domains: 1, provider });
    return provider;
  };
  const providers = new Map<string, { name: string; domains: number }>();
  const slowest: ScanSummary['slowest'] = [];
  const findings = new Map<string, { severity: Severity; domains: number }>();
  let total = 0;
  let errors = 0;

  function add(record: ScanRecord): void {
    total++;
    if (record.error !== null || record.outcome === null || record.domain === null) {
      errors++;
      return;
    }
    outcomes[record.outcome]++;
    if (!record.implicit) {
      // The provider of the set is that of its best recognised exchange (as `detectProvider` has it): the first
      // one in the record's order, which is by preference.
      let match: Provider | null = null;
      for (const h of record.hosts) {
        const provider = countExchange(h.exchange);
        match ??= provider;
      }
      if (match) {
        const seen = providers.get(match.provider) ?? { name: match.name, domains: 0 };
        seen.domains++;
        providers.set(match.provider, seen);
      }
    }
    // The slowest, slowest first: a new entry goes in its place, the last one out.
    const ms = record.elapsedMs;
    if (top > 0 && (slowest.length < top || ms > slowest[slowest.length - 1]!.elapsedMs)) {
      let at = slowest.length;
      while (at > 0 && slowest[at - 1]!.elapsedMs < ms) at--;
      slowest.splice(at, 0, { domain: record.domain, line: record.line, elapsedMs: ms });
      if (slowest.length > top) slowest.pop();
    }
  }

  function addFindings(list: readonly { id: string; severity: Severity }[]): void {
    const ids = new Map(list.map((f) => [f.id, f.severity]));
    for (const [id, severity] of ids) {
      const seen = findings.get(id) ?? { severity, domains: 0 };
      seen.domains++;
      findings.set(id, seen);
    }
  }

  function result(): ScanSummary {
    return {
      total,
      outcomes: { ...outcomes },
      errors,
      topExchanges: [...exchanges]
        .map(([exchange, e]) => ({ exchange, domains: e.domains }))
        .sort((a, b) => b.domains - a.domains || a.exchange.localeCompare(b.exchange))
        .slice(0, top),
      topProviders: [...providers]
        .map(([provider, p]) => ({ provider, name: p.name, domains: p.domains }))
        .sort((a, b) => b.domains - a.domains || a.provider.localeCompare(b.provider))
        .slice(0, top),
      slowest: [...slowest],
      topFindings: [...findings]
        .map(([id, f]) => ({ id, severity: f.severity, domains: f.domains }))
        .sort((a, b) => b.domains - a.domains || a.id.localeCompare(b.id))
        .slice(0, top),
    };
  }

  return { add, addFindings, result };
}
