/**
 * @module check/checks/ptr
 * Reverse DNS of every MX address: a PTR record (RFC 1035 §3.5) whose name resolves back to the same address
 * (forward-confirmed reverse DNS). Receivers reject or score mail from servers without it (RFC 8499
 * "FCrDNS"; large providers require it), and an MX usually sends too.
 */
import { isIP } from 'node:net';
import { reverseName } from '../../dns/reverse.js';
import type { Check } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

export const checkPtr: Check = async (ctx) => {
  const call = { signal: ctx.signal };
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const rows: Record<string, unknown>[] = [];
  await Promise.all(
    ctx.route.hosts.flatMap((h) =>
      h.addresses.map(async (address) => {
        if (seen.has(address)) return;
        seen.add(address);
        const ptr = await ctx.resolver.resolve({ name: reverseName(address), type: 'PTR' }, call);
        if (ptr.kind !== 'answer') {
          rows.push({ address, ptr: null, confirmed: false, outcome: ptr.kind });
          if (ptr.kind === 'nxdomain' || ptr.kind === 'nodata') {
            findings.push(
              finding(
                'mx.ptr-missing',
                address,
                `${address} (${h.exchange}) has no PTR record. Ask whoever owns the address (your hosting or ISP) to set its reverse DNS to ${h.exchange}.`,
                {
                  address,
                  exchange: h.exchange,
                },
              ),
            );
          }
          return;
        }
        const names = ptr.records.map((r) => String(r.data));
        const family = isIP(address) === 6 ? 'AAAA' : 'A';
        const forward = await Promise.all(names.map((n) => ctx.resolver.resolve({ name: n, type: family }, call)));
        const confirmed = forward.some((o) => o.kind === 'answer' && o.records.some((r) => String(r.data) === address));
        rows.push({ address, ptr: names, confirmed });
        if (!confirmed) {
          findings.push(
            finding(
              'mx.ptr-mismatch',
              address,
              `${address} (${h.exchange}) has the PTR ${names.join(', ')}, which does not resolve back to ${address}. Make the PTR name's ${family} record point to ${address} (ideally PTR = ${h.exchange}).`,
              {
                address,
                exchange: h.exchange,
                ptr: names,
              },
            ),
          );
        }
      }),
    ),
  );
  rows.sort((a, b) => String(a.address).localeCompare(String(b.address)));
  return { findings, data: { addresses: rows } };
};
