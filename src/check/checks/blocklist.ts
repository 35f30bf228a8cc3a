/**
 * @module check/checks/blocklist
 * DNS blocklist look-ups of the MX addresses (RFC 5782): the address's octets reversed under the list's zone;
 * an A record in 127.0.0.0/8 means "listed", its TXT says why. Answers in 127.255.255.0/24 are the list's
 * own error codes (e.g. queries through a public resolver refused), not listings. Off by default.
 */
import { isIP } from 'node:net';
import { reverseName } from '../../dns/reverse.js';
import type { Check } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/** Common public lists, used when `--blocklists` names none. */
export const DEFAULT_BLOCKLISTS = ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'psbl.surriel.com'];

/** The query name of an address on a list (IPv4: reversed octets; IPv6: reversed nibbles, RFC 5782 §2.4). */
export function blocklistName(address: string, zone: string): string {
  return reverseName(address).replace(/\.(in-addr|ip6)\.arpa$/, '') + `.${zone}`;
}

export const checkBlocklists: Check = async (ctx) => {
  const lists = ctx.blocklists;
  if (!lists) return { findings: [], data: { skipped: 'blocklist look-ups are off (use --blocklists)' } };
  const call = { signal: ctx.signal };
  const addresses = [...new Set(ctx.route.hosts.flatMap((h) => h.addresses))].filter((a) => isIP(a) !== 0);
  const findings: Finding[] = [];
  const rows: Record<string, unknown>[] = [];
  await Promise.all(
    addresses.flatMap((address) =>
      lists.map(async (zone) => {
        const name = blocklistName(address, zone);
        const a = await ctx.resolver.resolve({ name, type: 'A' }, call);
        if (a.kind !== 'answer') {
          rows.push({ address, list: zone, listed: false, outcome: a.kind });
          return;
        }
        const codes = a.records.map((r) => String(r.data));
        if (codes.every((c) => c.startsWith('127.255.255.'))) {
          rows.push({
            address,
            list: zone,
            listed: false,
            error: `the list answered ${codes.join(', ')} (a refusal, not a listing)`,
          });
          return;
        }
        const txt = await ctx.resolver.resolve({ name, type: 'TXT' }, call);
        const reason = txt.kind === 'answer' ? txt.records.map((r) => (r.data as string[]).join('')).join(' ') : null;
        rows.push({ address, list: zone, listed: true, codes, reason });
        const exchanges = ctx.route.hosts.filter((h) => h.addresses.includes(address)).map((h) => h.exchange);
        findings.push(
          finding(
            'blocklist.listed',
            address,
            `${address} (${exchanges.join(', ')}) is listed on ${zone} (${codes.join(', ')}${reason ? `: ${reason}` : ''}). Find and stop the cause (a compromised account, an open relay), then ask ${zone} to delist it.`,
            {
              address,
              list: zone,
              codes,
              reason,
            },
          ),
        );
      }),
    ),
  );
  rows.sort((x, y) => `${String(x.address)} ${String(x.list)}`.localeCompare(`${String(y.address)} ${String(y.list)}`));
  return { findings, data: { lists, results: rows } };
};
