/**
 * @module auth/dmarc/discover
 * DMARC policy discovery (RFC 7489 §6.6.3): the TXT record at `_dmarc.<domain>`, and when there is none, the
 * one at `_dmarc.<organizational domain>` (§3.2, found with the Public Suffix List), whose `sp` then applies.
 * The organizational domain comes from mailauth's DMARC verifier, which carries the PSL (tldts); the record
 * look-ups are ours, so that several records and DNS failures are told apart from "none" (mailauth folds them
 * into one `false`).
 * Also the external report destination check of §7.1: a `rua`/`ruf` address in another organizational domain
 * receives reports only if that domain publishes `<policy domain>._report._dmarc.<destination>` TXT "v=DMARC1".
 */
import { dmarc } from 'mailauth/lib/dmarc/index.js';
import type { CallOptions, Resolver } from '../../dns/resolver.js';
import { toNodeResolver } from '../node-resolver.js';
import type { PolicyRecordLookup } from '../txt.js';
import { lookupPolicyRecord } from '../txt.js';
import type { DmarcUri } from './record.js';
import { isDmarcRecord } from './record.js';

export type DmarcDiscovery =
  /** A record: at the domain itself, or `inherited` from the organizational domain. */
  | { kind: 'found'; name: string; record: string; policyDomain: string; orgDomain: string; inherited: boolean }
  | { kind: 'multiple'; name: string; records: string[]; orgDomain: string }
  /** No record at the domain nor at its organizational domain (`asked` lists the names queried). */
  | { kind: 'none'; asked: string[]; orgDomain: string }
  | { kind: 'failed'; name: string; error: string; orgDomain: string };

export interface DiscoverOptions extends CallOptions {
  resolver: Resolver;
}

/**
 * The organizational domain (RFC 7489 §3.2) of `domain`, by the Public Suffix List mailauth ships.
 * @example await organizationalDomain('mail.example.co.uk', { resolver }) // 'example.co.uk'
 */
export async function organizationalDomain(domain: string, options: DiscoverOptions): Promise<string> {
  // mailauth exposes its PSL only through the verifier, which reports the organizational domain it used; the
  // DMARC look-ups it makes on the way are answered from our resolver's cache afterwards.
  const result = await dmarc({
    headerFrom: `postmaster@${domain}`,
    spfDomains: [],
    dkimDomains: [],
    resolver: toNodeResolver(options.resolver, { signal: options.signal }) as (
      name: string,
      type: string,
    ) => Promise<string[][]>,
  });
  options.signal?.throwIfAborted();
  return result ? result.domain : domain;
}

function describeLookup(found: Extract<PolicyRecordLookup, { kind: 'failed' }>): string {
  const o = found.outcome;
  return o.kind === 'timeout' ? `no reply within ${o.timeoutMs} ms from ${o.server}` : `${o.kind} from ${o.server}`;
}

/**
 * Finds the DMARC record that applies to `domain`.
 * @example
 * const d = await discoverDmarc('mail.example.com', { resolver });
 * if (d.kind === 'found' && d.inherited) console.log(`policy from ${d.policyDomain}`);
 */
export async function discoverDmarc(domain: string, options: DiscoverOptions): Promise<DmarcDiscovery> {
  const call: CallOptions = { signal: options.signal };
  const own = await lookupPolicyRecord(options.resolver, `_dmarc.${domain}`, isDmarcRecord, call);
  const orgDomain = await organizationalDomain(domain, options);
  const settle = (found: PolicyRecordLookup, at: string): DmarcDiscovery | null => {
    switch (found.kind) {
      case 'found':
        return {
          kind: 'found',
          name: found.name,
          record: found.record,
          policyDomain: at,
          orgDomain,
          inherited: at !== domain,
        };
      case 'multiple':
        return { kind: 'multiple', name: found.name, records: found.records, orgDomain };
      case 'failed':
        return { kind: 'failed', name: found.name, error: describeLookup(found), orgDomain };
      case 'none':
        return null;
    }
  };
  const atDomain = settle(own, domain);
  if (atDomain) return atDomain;
  if (orgDomain === domain) return { kind: 'none', asked: [own.name], orgDomain };
  const org = await lookupPolicyRecord(options.resolver, `_dmarc.${orgDomain}`, isDmarcRecord, call);
  return settle(org, orgDomain) ?? { kind: 'none', asked: [own.name, org.name], orgDomain };
}

/** Whether a report destination may receive reports for the policy domain (RFC 7489 §7.1). */
export type DestinationAuthorization =
  /** Same organizational domain: no authorization needed. */
  | 'internal'
  | 'authorized'
  | 'missing'
  /** The authorization look-up failed; nothing can be said. */
  | 'failed'
  /** Not a mailto: URI: §7.1 covers mail addresses only. */
  | 'not-mailto';

export interface DestinationCheck {
  uri: string;
  domain: string | null;
  authorization: DestinationAuthorization;
  /** The TXT name asked, when one was. */
  query: string | null;
  detail: string | null;
}

/**
 * Checks each report destination outside the policy's organizational domain for its authorization record.
 * @example
 * await checkReportDestinations('example.com', 'example.com', record.rua, { resolver })
 * // [{ uri: 'mailto:d@reports.example.net', authorization: 'missing', query: 'example.com._report._dmarc.reports.example.net', … }]
 */
export async function checkReportDestinations(
  policyDomain: string,
  orgDomain: string,
  uris: readonly DmarcUri[],
  options: DiscoverOptions,
): Promise<DestinationCheck[]> {
  return Promise.all(
    uris.map(async (u): Promise<DestinationCheck> => {
      if (u.domain === null)
        return { uri: u.uri, domain: null, authorization: 'not-mailto', query: null, detail: null };
      if (u.domain === orgDomain || u.domain.endsWith(`.${orgDomain}`)) {
        return { uri: u.uri, domain: u.domain, authorization: 'internal', query: null, detail: null };
      }
      const query = `${policyDomain}._report._dmarc.${u.domain}`;
      const found = await lookupPolicyRecord(options.resolver, query, isDmarcRecord, { signal: options.signal });
      switch (found.kind) {
        case 'found':
        case 'multiple':
          return { uri: u.uri, domain: u.domain, authorization: 'authorized', query, detail: null };
        case 'none':
          return {
            uri: u.uri,
            domain: u.domain,
            authorization: 'missing',
            query,
            detail: `${u.domain} does not publish ${query} TXT "v=DMARC1", so receivers send it no reports (RFC 7489 §7.1); ask its operator to publish it, or report to an address in ${orgDomain}`,
          };
        case 'failed':
          return { uri: u.uri, domain: u.domain, authorization: 'failed', query, detail: describeLookup(found) };
      }
    }),
  );
}
