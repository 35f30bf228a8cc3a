/**
 * @module check/checks/mx
 * Findings about the MX RRset and the route built from it (RFC 5321 §5.1, RFC 7505, RFC 2181 §10.3), and the
 * address ranges an MX of a public domain must not use (RFC 6890 special-purpose registries).
 */
import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';
import type { Check } from '../context.js';

/** Below this MX TTL, resolvers re-ask constantly and a DNS outage hits mail at once. */
export const LOW_TTL_SECONDS = 300;

const SPECIAL: BlockList = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const)
    b.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['2001:db8::', 32],
    ['ff00::', 8],
  ] as const)
    b.addSubnet(net, bits, 'ipv6');
  return b;
})();

/** True for loopback, private, CGNAT, link-local, documentation, multicast and reserved addresses. */
export function isSpecialAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return SPECIAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** RFC 6761 special-use names: a lab or test world, where loopback addresses are the point. */
export function isSpecialUseDomain(domain: string): boolean {
  return /(^|\.)(test|example|invalid|localhost)$/.test(domain) || /(^|\.)example\.(com|net|org)$/.test(domain);
}

export const checkMx: Check = async (ctx) => {
  const { route, domain } = ctx;
  const findings: Finding[] = [];
  const hosts = route.hosts;

  if (route.outcome === 'no-mail-route' || route.outcome === 'no-domain') {
    findings.push(
      finding(
        'mx.none',
        domain,
        `${domain} has no mail route: ${route.reason ?? route.outcome}. Publish MX records naming your mail hosts (or a null MX "0 ." if the domain sends and receives no mail).`,
        {
          outcome: route.outcome,
        },
      ),
    );
  }
  if (route.warnings.some((w) => w.includes('RFC 7505 §3'))) {
    findings.push(
      finding(
        'mx.null-with-others',
        domain,
        `${domain} publishes a null MX ("0 .") beside other MX records. Remove the null MX if the domain takes mail, or every other MX if it does not.`,
      ),
    );
  }
  if (route.outcome === 'deliverable' && !route.implicit && hosts.length === 1) {
    findings.push(
      finding(
        'mx.single',
        hosts[0]!.exchange,
        `${domain} has a single MX host, ${hosts[0]!.exchange}: while it is down, senders can only queue. Add a second MX on separate infrastructure at a higher preference (e.g. 20).`,
        {
          exchanges: hosts.map((h) => h.exchange),
        },
      ),
    );
  }
  for (const h of hosts) {
    if (h.canonical) {
      findings.push(
        finding(
          'mx.cname-target',
          h.exchange,
          `MX ${h.preference} ${h.exchange} is a CNAME for ${h.canonical}. RFC 2181 §10.3 forbids this; point the MX at ${h.canonical} directly.`,
          {
            exchange: h.exchange,
            canonical: h.canonical,
          },
        ),
      );
    }
    if (h.error === 'the exchange is an IP address, not a host name') {
      findings.push(
        finding(
          'mx.ip-literal',
          h.exchange,
          `MX ${h.preference} ${h.exchange} names an IP address; senders look it up as a host name and fail. Give the server a host name with an A/AAAA record and use that name in the MX.`,
          {
            exchange: h.exchange,
          },
        ),
      );
    } else if (h.addresses.length === 0) {
      findings.push(
        finding(
          'mx.no-address',
          h.exchange,
          `MX ${h.preference} ${h.exchange} has no address (${h.error ?? 'no A or AAAA'}); senders skip it. Add its A/AAAA records or remove the MX.`,
          {
            exchange: h.exchange,
            error: h.error,
          },
        ),
      );
    }
  }
  for (const w of route.warnings.filter((x) => x.includes('listed more than once'))) {
    const exchange = w.split(' ')[0]!;
    findings.push(finding('mx.duplicate', exchange, `${w}. Remove the extra MX record.`, { exchange }));
  }

  const byAddress = new Map<string, string[]>();
  for (const h of hosts) for (const a of h.addresses) byAddress.set(a, [...(byAddress.get(a) ?? []), h.exchange]);
  for (const [address, names] of byAddress) {
    if (names.length > 1) {
      findings.push(
        finding(
          'mx.shared-address',
          address,
          `${names.join(' and ')} share the address ${address}: when it fails, all of them fail. Put back-up MX hosts on separate machines and networks.`,
          {
            address,
            exchanges: names,
          },
        ),
      );
    }
  }
  if (!isSpecialUseDomain(domain)) {
    for (const [address, names] of byAddress) {
      if (isSpecialAddress(address)) {
        findings.push(
          finding(
            'mx.private-address',
            address,
            `${names.join(', ')} resolve${names.length === 1 ? 's' : ''} to ${address}, which is not reachable from the internet (loopback, private, link-local or documentation space). Publish the server's public address.`,
            {
              address,
              exchanges: names,
            },
          ),
        );
      }
    }
  }
  if (route.ttl !== null && !route.implicit && route.outcome === 'deliverable' && route.ttl < LOW_TTL_SECONDS) {
    findings.push(
      finding(
        'mx.ttl-low',
        domain,
        `The MX records have a TTL of ${route.ttl} s. Unless a migration is under way, use an hour or more (3600) so a short DNS outage does not stop mail.`,
        {
          ttl: route.ttl,
        },
      ),
    );
  }

  // A wildcard MX answers for every name below the domain, including typos: ask for a random label.
  const probeName = `mxray-${randomBytes(5).toString('hex')}.${domain}`;
  const wild = await ctx.resolver.resolve({ name: probeName, type: 'MX' }, { signal: ctx.signal });
  if (wild.kind === 'answer') {
    findings.push(
      finding(
        'mx.wildcard',
        `*.${domain}`,
        `A wildcard MX answers for names that do not exist (asked ${probeName}): mail to typos and made-up subdomains is accepted for delivery. Remove the wildcard MX unless every subdomain really takes mail.`,
        {
          probe: probeName,
          exchanges: wild.records.map((r) => (r.data as { exchange: string }).exchange),
        },
      ),
    );
  }

  return {
    findings,
    data: {
      outcome: route.outcome,
      ttl: route.ttl,
      records: hosts.map((h) => ({ preference: h.preference, exchange: h.exchange, addresses: h.addresses })),
    },
  };
};
