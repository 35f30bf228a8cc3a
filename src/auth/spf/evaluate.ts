/**
 * @module auth/spf/evaluate
 * `check_host()` of RFC 7208 §4: is this IP address allowed to send mail for this domain? The evaluation is
 * mailauth's (`mailauth/lib/spf`), fed by our resolver through auth/node-resolver.ts, because it passes the
 * RFC 7208 test suite almost whole (auth/spf/rfc7208.test.ts). Where it does not evaluate correctly we wrap it:
 * - §4.6 "syntax errors anywhere in the record MUST be detected": mailauth stops at the first matching term,
 *   so `v=spf1 -all ip6` or a second `exp=` passed unnoticed, and it did not check `exp=` at all. Every SPF
 *   record mailauth fetches now goes through our strict parser (auth/spf/record.ts) first, and a record that
 *   does not parse is a permerror, wherever it is (top level, include or redirect). This works because
 *   mailauth asks for TXT records only to fetch SPF records (it does not implement `exp=`).
 * - §5.2 / §6.1: a DNS failure other than a timeout or REFUSED (SERVFAIL, say) inside an `include:` or
 *   `redirect=` target lost its error in mailauth and evaluation went on as if the include had not matched.
 *   Such errors now carry mailauth's own `spfResult` marker, so they become the temperror RFC 7208 §2.6.6 asks.
 * Left as mailauth does it (and skipped, with the reason, in the spec test): a `%{p}` macro is expanded to the
 * unvalidated sender domain (§7.3 discourages `p` anyway), and an invalid name produced by macro expansion
 * (from a malformed HELO) is a permerror rather than a no-match. `mxray check` evaluates with the MX host
 * name as HELO, so the latter cannot arise there.
 */
import { spf } from 'mailauth/lib/spf/index.js';
import type { CallOptions, Resolver } from '../../dns/resolver.js';
import type { NodeDnsError, NodeResolver } from '../node-resolver.js';
import { toNodeResolver } from '../node-resolver.js';
import { isSpfRecord, parseSpfRecord } from './record.js';

/** RFC 7208 §2.6 results (the RFC 8601 words). */
export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

export interface SpfInput {
  /** The client address (IPv4, IPv6, or IPv4-mapped IPv6, which is treated as IPv4 per §5). */
  ip: string;
  /** MAIL FROM; a bare domain means `postmaster@domain` (RFC 7208 §4.3). */
  sender: string;
  /** HELO/EHLO name, for `%{h}`. */
  helo?: string;
}

export interface SpfEvaluation {
  result: SpfResult;
  /** The domain whose policy was evaluated. */
  domain: string;
  ip: string;
  /** Why, in mailauth's words (e.g. "domain of … designates 192.0.2.1 as permitted sender"). */
  comment: string;
  /** The top-level SPF record, when one was found. */
  record: string | null;
  /** DNS-querying terms and void look-ups evaluation actually used (RFC 7208 §4.6.4), as mailauth counted. */
  lookups: { count: number; void: number } | null;
}

export interface EvaluateOptions extends CallOptions {
  resolver: Resolver;
  /** The receiving host's name, for the comment and `%{r}`. Default "mxray". */
  mta?: string;
}

type MarkedError = NodeDnsError & { spfResult?: { error: SpfResult; text: string } };

/** The node-shaped resolver mailauth gets: strict syntax on every SPF record, DNS failures marked temperror. */
function mailauthResolver(node: NodeResolver): NodeResolver {
  return async (name, type) => {
    let records: unknown[];
    try {
      records = await node(name, type);
    } catch (err) {
      const e = err as MarkedError;
      if (e.code !== 'ENOTFOUND' && e.code !== 'ENODATA' && e.spfResult === undefined) {
        e.spfResult = { error: 'temperror', text: `DNS failure (${e.code}) looking up ${name} ${type}` };
      }
      throw err;
    }
    if (type === 'TXT') {
      const spfRecords = (records as string[][]).map((r) => r.join('')).filter(isSpfRecord);
      // Several records are mailauth's permerror already (§4.5); a single one must parse whole (§4.6).
      if (spfRecords.length === 1) {
        const parsed = parseSpfRecord(spfRecords[0]!);
        if (!parsed.ok) {
          const err = new Error(`SPF syntax error at ${name}: ${parsed.error}`) as MarkedError;
          err.spfResult = { error: 'permerror', text: `SPF record of ${name}: ${parsed.error}` };
          throw err;
        }
      }
    }
    return records;
  };
}

const RESULTS = new Set<string>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror']);

/**
 * Evaluates SPF for a client address and sender (RFC 7208 §4). Never throws for DNS trouble (that is a
 * temperror); throws only the caller's abort.
 * @example
 * const r = await evaluateSpf({ ip: '192.0.2.10', sender: 'postmaster@example.com', helo: 'mx.example.com' },
 *   { resolver });
 * r.result // 'pass'
 */
export async function evaluateSpf(input: SpfInput, options: EvaluateOptions): Promise<SpfEvaluation> {
  options.signal?.throwIfAborted();
  const resolver = mailauthResolver(toNodeResolver(options.resolver, { signal: options.signal }));
  const out = await spf({
    ip: input.ip,
    sender: input.sender,
    ...(input.helo === undefined ? {} : { helo: input.helo }),
    mta: options.mta ?? 'mxray',
    // mailauth's type says string[][] | string[], but it reads MX answers as node's {priority, exchange}.
    resolver: resolver as (name: string, type: string) => Promise<string[][]>,
  });
  // mailauth turns every exception into a temperror, the caller's abort included: give the abort back.
  options.signal?.throwIfAborted();
  const word = out.status.result === 'temperr' ? 'temperror' : out.status.result;
  return {
    result: RESULTS.has(word) ? (word as SpfResult) : 'temperror',
    domain: out.domain,
    ip: input.ip,
    comment: out.status.comment ?? '',
    record: out.rr ?? null,
    lookups: out.lookups ? { count: out.lookups.count, void: out.lookups.void } : null,
  };
}
