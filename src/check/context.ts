/**
 * @module check/context
 * What every check module receives. Checks are independent: each gathers what it needs with its own
 * timeouts and returns findings plus the data it saw, so one failing never hides the others.
 */
import type { Resolver } from '../dns/resolver.js';
import type { MailRoute } from '../mx/route.js';
import type { ProbeResult } from '../smtp/probe.js';
import type { PhaseTimeouts } from '../smtp/probe.js';
import type { Finding } from './findings.js';

export interface CheckContext {
  /** The domain, a normalized A-label name. */
  domain: string;
  /** The resolver from `--server` (or the system's): every question goes through it. */
  resolver: Resolver;
  /** The domain's mail route, resolved once before the checks run. */
  route: MailRoute;
  /**
   * SMTP probes of every route address (empty with `--no-smtp`), done once and shared by the SMTP, DANE and
   * MTA-STS checks.
   */
  probes: ProbeResult[];
  /** SMTP settings for checks that connect (open relay). */
  smtp: { enabled: boolean; port: number; helo: string; timeouts: PhaseTimeouts };
  /** Port of authoritative nameservers (53; the lab's port in tests). */
  authoritativePort: number;
  /** HTTPS port for MTA-STS policy fetches (443; a test server's port in tests). */
  httpsPort: number;
  /** Extra CA certificates (PEM) trusted for HTTPS, beside Node's store. */
  extraCa: string[];
  /** Optional checks. */
  blocklists: string[] | null;
  openRelay: boolean;
  /** Milliseconds since the epoch, for expiry arithmetic. */
  now: number;
  signal?: AbortSignal | undefined;
}

/** What a check module returns. `data` goes into the JSON report under the module's name. */
export interface CheckOutput {
  findings: Finding[];
  data: Record<string, unknown>;
}

/** A check module. It must not throw for expected failures: they are findings or data. */
export type Check = (ctx: CheckContext) => Promise<CheckOutput>;

/**
 * A context with the defaults of `mxray check` (SMTP off, port 53/443, no extra CA, optional checks off):
 * what a test or a library user needs to run one check module on its own.
 * @example const out = await checkSpf(checkContext({ domain, resolver, route }));
 */
export function checkContext(
  base: Pick<CheckContext, 'domain' | 'resolver' | 'route'> & Partial<CheckContext>,
): CheckContext {
  return {
    probes: [],
    smtp: {
      enabled: false,
      port: 25,
      helo: 'mxray.invalid',
      timeouts: { connectMs: 10_000, greetingMs: 30_000, commandMs: 30_000, tlsMs: 15_000 },
    },
    authoritativePort: 53,
    httpsPort: 443,
    extraCa: [],
    blocklists: null,
    openRelay: false,
    now: Date.now(),
    ...base,
  };
}
