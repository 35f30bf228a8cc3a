/**
 * @module check/checks/mta-sts
 * The MTA-STS part of `mxray check` (RFC 8461): the TXT record at `_mta-sts.<domain>` (§3.1), the policy
 * fetched as a sender fetches it (§3.3: HTTPS, certificate valid for `mta-sts.<domain>`, no redirects) and
 * parsed (§3.2), and every MX of the route covered by an `mx:` pattern (§4.1) when the mode is enforce or
 * testing: in enforce mode, senders refuse to deliver to an MX the policy does not list.
 * A domain without the TXT record has no MTA-STS: that is advice rather than a fault (`mta-sts.none`, info).
 */
import type { PolicyFetch } from '../../auth/mta-sts/fetch.js';
import { describeFetch, fetchMtaStsPolicy } from '../../auth/mta-sts/fetch.js';
import type { MtaStsPolicy } from '../../auth/mta-sts/policy.js';
import { coveringPattern, parseMtaStsPolicy } from '../../auth/mta-sts/policy.js';
import { isMtaStsRecord, parseMtaStsRecord } from '../../auth/mta-sts/record.js';
import { lookupPolicyRecord } from '../../auth/txt.js';
import type { Check, CheckContext } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/**
 * The MTA-STS check module.
 * @example const { findings, data } = await checkMtaSts(ctx); // data.present, data.policy.mode, data.coverage
 */
export const checkMtaSts: Check = async (ctx) => {
  const name = `_mta-sts.${ctx.domain}`;
  const txt = await lookupPolicyRecord(ctx.resolver, name, isMtaStsRecord, { signal: ctx.signal });
  switch (txt.kind) {
    case 'failed':
      return { findings: [], data: { present: null, name, error: `the TXT look-up failed (${txt.outcome.kind})` } };
    case 'none':
      return {
        findings: [
          finding(
            'mta-sts.none',
            ctx.domain,
            `${ctx.domain} has no MTA-STS policy (no TXT record at ${name}), so senders deliver over TLS only opportunistically and an attacker on the path can strip STARTTLS (RFC 8461 §1). Publish "v=STSv1; id=<date>" at ${name} and the policy at https://mta-sts.${ctx.domain}/.well-known/mta-sts.txt (start in mode: testing).`,
            { name },
          ),
        ],
        data: { present: false, name },
      };
    case 'multiple':
      return unreachable(ctx, { present: true, name, records: txt.records }, [
        `${name} has ${txt.records.length} records starting "v=STSv1", so senders assume there is no policy (RFC 8461 §3.1)`,
        `keep one record`,
      ]);
    case 'found':
      break;
  }
  const record = parseMtaStsRecord(txt.record);
  if (!record.ok) {
    return unreachable(ctx, { present: true, name, record: txt.record, txtError: record.error }, [
      `the record at ${name} is invalid (${record.error}), so senders assume there is no policy (RFC 8461 §3.1)`,
      `publish ${name} TXT "v=STSv1; id=<1 to 32 letters and digits>"`,
    ]);
  }
  const fetched = await fetchMtaStsPolicy(ctx.domain, {
    resolver: ctx.resolver,
    port: ctx.httpsPort,
    extraCa: ctx.extraCa,
    signal: ctx.signal,
  });
  const base = { present: true, name, record: txt.record, id: record.record.id, fetch: fetchData(fetched) };
  if (fetched.kind !== 'fetched') {
    return unreachable(ctx, base, [
      `the policy cannot be fetched: ${describeFetch(fetched)}`,
      `serve it at https://mta-sts.${ctx.domain}/.well-known/mta-sts.txt with status 200, Content-Type text/plain and a certificate for mta-sts.${ctx.domain} from a public CA`,
    ]);
  }
  const parsed = parseMtaStsPolicy(fetched.body);
  if (!parsed.ok) {
    return unreachable(ctx, { ...base, policyErrors: parsed.errors, policyText: fetched.body.slice(0, 2000) }, [
      `the policy at ${fetched.url} does not parse: ${parsed.errors.join('; ')}`,
      `write it as "version: STSv1", "mode: enforce", "max_age: 604800" and one "mx:" line per MX host (RFC 8461 §3.2)`,
    ]);
  }
  const coverage = coverageOf(ctx, parsed.policy);
  return {
    findings: coverageFindings(ctx.domain, parsed.policy, coverage),
    data: {
      ...base,
      policy: { mode: parsed.policy.mode, maxAge: parsed.policy.maxAge, mx: parsed.policy.mx },
      warnings: parsed.warnings,
      coverage,
    },
  };
};

function fetchData(f: PolicyFetch): Record<string, unknown> {
  const { kind } = f;
  return {
    kind,
    url: f.url,
    address: 'address' in f ? f.address : null,
    status: 'status' in f ? f.status : null,
    detail: describeFetch(f),
    elapsedMs: f.elapsedMs,
  };
}

function unreachable(ctx: CheckContext, data: Record<string, unknown>, [why, fix]: [string, string]) {
  return {
    findings: [
      finding(
        'mta-sts.policy-unreachable',
        `mta-sts.${ctx.domain}`,
        `${ctx.domain} announces MTA-STS in _mta-sts.${ctx.domain}, but ${why}; senders then deliver as if the ` +
          `domain had no policy, without the TLS protection it promises. Fix: ${fix}.`,
        data,
      ),
    ],
    data: { ...data, error: why },
  };
}

/** Which pattern covers each exchange of the route (RFC 8461 §4.1), once per exchange. */
function coverageOf(ctx: CheckContext, policy: MtaStsPolicy): { exchange: string; pattern: string | null }[] {
  const exchanges = [...new Set(ctx.route.hosts.map((h) => h.exchange))];
  return exchanges.map((exchange) => ({ exchange, pattern: coveringPattern(policy, exchange) }));
}

/**
 * `mta-sts.mx-not-covered` for every uncovered exchange, when the mode is enforce or testing (pure).
 * @example coverageFindings('example.com', policy, [{ exchange: 'mx2.example.com', pattern: null }]) // one finding
 */
export function coverageFindings(
  domain: string,
  policy: MtaStsPolicy,
  coverage: readonly { exchange: string; pattern: string | null }[],
): Finding[] {
  if (policy.mode === 'none') return [];
  const effect =
    policy.mode === 'enforce'
      ? 'senders that apply the policy refuse to deliver to it'
      : 'senders that apply the policy report every delivery to it as a failure (mode testing)';
  return coverage
    .filter((c) => c.pattern === null)
    .map((c) =>
      finding(
        'mta-sts.mx-not-covered',
        c.exchange,
        `${c.exchange} is an MX of ${domain}, but no "mx:" line of its MTA-STS policy (${policy.mx.join(', ')}) ` +
          `matches it, so ${effect}. Add "mx: ${c.exchange}" (a "*." wildcard covers exactly one label) and change ` +
          `the id in _mta-sts.${domain} so senders fetch the new policy.`,
        { exchange: c.exchange, mode: policy.mode, patterns: policy.mx },
      ),
    );
}
