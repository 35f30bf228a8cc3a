/**
 * @module check/run
 * `checkDomain`: the full audit of how mail reaches a domain. The route and the SMTP probes are gathered once;
 * then every check module runs concurrently under its own deadline, and a check that fails or times out is
 * reported in `errors` without hiding the others' findings.
 */
import { performance } from 'node:perf_hooks';
import type { Limiter } from '../core/limit.js';
import { deadline } from '../core/signal.js';
import { normalizeName } from '../dns/name.js';
import type { Resolver } from '../dns/resolver.js';
import type { MailRoute } from '../mx/route.js';
import { resolveRoute } from '../mx/route.js';
import type { PhaseTimeouts, ProbeResult } from '../smtp/probe.js';
import { DEFAULT_TIMEOUTS } from '../smtp/probe.js';
import { probeTargets, targetsOfRoute } from '../smtp/probe-targets.js';
import { CHECKS } from './registry.js';
import { checkContext } from './context.js';
import type { Finding, Severity } from './findings.js';
import { FINDINGS } from './findings.js';

export interface CheckOptions {
  resolver: Resolver;
  /** SMTP probing and the tests built on it (default on, port 25). */
  smtp?: { enabled: boolean; port?: number; helo?: string; timeouts?: PhaseTimeouts };
  authoritativePort?: number;
  httpsPort?: number;
  extraCa?: string[];
  blocklists?: string[] | null;
  openRelay?: boolean;
  /**
   * Runs the SMTP probes of a domain; a bulk audit passes a shared limiter (core/limit.ts) so a few domains
   * at a time talk SMTP however many are being checked.
   */
  smtpSlots?: Limiter;
  /** Time allowed to each check module. Default 30 s. */
  checkTimeoutMs?: number;
  now?: number;
  signal?: AbortSignal;
}

/** The `mxray check --json` contract for one domain (stable: fields are only ever added). */
export interface CheckReport {
  domain: string;
  route: MailRoute;
  findings: Finding[];
  summary: Record<Severity, number>;
  /** Each module's data, by module name (mx, nameservers, ptr, smtp, spf, dmarc, mta-sts, tls-rpt, …). */
  sections: Record<string, unknown>;
  /** Modules that could not finish, and why. */
  errors: { check: string; error: string }[];
  checkedAt: string;
  elapsedMs: number;
}

const ORDER = Object.keys(FINDINGS);
const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Audits one domain.
 * @example const report = await checkDomain('example.com', { resolver, smtp: { enabled: false } });
 * report.findings.filter((f) => f.severity === 'error')
 */
export async function checkDomain(input: string, options: CheckOptions): Promise<CheckReport> {
  options.signal?.throwIfAborted();
  const started = performance.now();
  const domain = normalizeName(input);
  const route = await resolveRoute(domain, { resolver: options.resolver, signal: options.signal });
  const smtpEnabled = options.smtp?.enabled ?? true;
  const smtp = {
    enabled: smtpEnabled,
    port: options.smtp?.port ?? 25,
    helo: options.smtp?.helo ?? 'mxray.invalid',
    timeouts: options.smtp?.timeouts ?? DEFAULT_TIMEOUTS,
  };
  let probes: ProbeResult[] = [];
  if (smtpEnabled && route.outcome === 'deliverable') {
    const probe = () =>
      probeTargets(targetsOfRoute(route.hosts), {
        port: smtp.port,
        helo: smtp.helo,
        starttls: true,
        timeouts: smtp.timeouts,
        signal: options.signal,
        ...(options.extraCa ? { ca: options.extraCa } : {}),
      });
    probes = await (options.smtpSlots ? options.smtpSlots(probe) : probe());
  }
  const timeoutMs = options.checkTimeoutMs ?? 30_000;
  const results = await Promise.all(
    Object.entries(CHECKS).map(async ([name, check]) => {
      const signal = deadline(options.signal, timeoutMs);
      const ctx = checkContext({
        domain,
        resolver: options.resolver,
        route,
        probes,
        smtp,
        signal,
        ...(options.authoritativePort !== undefined ? { authoritativePort: options.authoritativePort } : {}),
        ...(options.httpsPort !== undefined ? { httpsPort: options.httpsPort } : {}),
        ...(options.extraCa ? { extraCa: options.extraCa } : {}),
        ...(options.blocklists !== undefined ? { blocklists: options.blocklists } : {}),
        ...(options.openRelay !== undefined ? { openRelay: options.openRelay } : {}),
        ...(options.now !== undefined ? { now: options.now } : {}),
      });
      try {
        return { name, output: await check(ctx), error: null };
      } catch (err) {
        options.signal?.throwIfAborted();
        const why = signal.aborted ? `did not finish within ${timeoutMs} ms` : (err as Error).message;
        return { name, output: null, error: why };
      }
    }),
  );
  const findings = results
    .flatMap((r) => r.output?.findings ?? [])
    .sort(
      (a, b) =>
        ORDER.indexOf(a.id) - ORDER.indexOf(b.id) ||
        SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
        a.subject.localeCompare(b.subject),
    );
  const summary: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return {
    domain,
    route,
    findings,
    summary,
    sections: Object.fromEntries(results.filter((r) => r.output).map((r) => [r.name, r.output!.data])),
    errors: results.filter((r) => r.error !== null).map((r) => ({ check: r.name, error: r.error })),
    checkedAt: new Date(options.now ?? Date.now()).toISOString(),
    elapsedMs: Math.round(performance.now() - started),
  };
}
