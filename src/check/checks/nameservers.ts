/**
 * @module check/checks/nameservers
 * Do the zone's authoritative servers agree? Each NS (RFC 1034 §4.2) is asked directly, without recursion,
 * for the MX RRset and the SOA serial (RFC 1035 §3.3.13): a server that lags behind (a failed zone transfer)
 * hands out an old MX set to some senders.
 */
import { createResolver } from '../../dns/resolver.js';
import type { DnsOutcome } from '../../dns/resolver.js';
import type { Check } from '../context.js';
import { finding } from '../findings.js';

interface ServerView {
  nameserver: string;
  address: string;
  mx: string[] | null;
  serial: number | null;
  error: string | null;
}

const addressesOf = (o: DnsOutcome): string[] => (o.kind === 'answer' ? o.records.map((r) => String(r.data)) : []);

export const checkNameservers: Check = async (ctx) => {
  const call = { signal: ctx.signal };
  const ns = await ctx.resolver.resolve({ name: ctx.route.canonical ?? ctx.domain, type: 'NS' }, call);
  if (ns.kind !== 'answer') return { findings: [], data: { nameservers: [], note: `no NS answer (${ns.kind})` } };
  const names = ns.records.map((r) => String(r.data)).sort();
  const targets: { nameserver: string; address: string }[] = [];
  await Promise.all(
    names.map(async (name) => {
      const [a, aaaa] = await Promise.all([
        ctx.resolver.resolve({ name, type: 'A' }, call),
        ctx.resolver.resolve({ name, type: 'AAAA' }, call),
      ]);
      for (const address of [...addressesOf(a), ...addressesOf(aaaa)]) targets.push({ nameserver: name, address });
    }),
  );
  const zone = ctx.route.canonical ?? ctx.domain;
  const views: ServerView[] = await Promise.all(
    targets.map(async ({ nameserver, address }) => {
      const direct = createResolver({
        servers: [{ host: address, port: ctx.authoritativePort }],
        recursionDesired: false,
        timeoutMs: 2000,
        attempts: 2,
      });
      const [mx, soa] = await Promise.all([
        direct.resolve({ name: zone, type: 'MX' }, call),
        direct.resolve({ name: zone, type: 'SOA' }, call),
      ]);
      const view: ServerView = { nameserver, address, mx: null, serial: null, error: null };
      if (mx.kind === 'answer') {
        view.mx = mx.records
          .map((r) => {
            const d = r.data as { preference?: number; exchange: string };
            return `${d.preference ?? 0} ${d.exchange || '.'}`;
          })
          .sort();
      } else if (mx.kind === 'nodata') view.mx = [];
      else view.error = `MX: ${mx.kind}`;
      if (soa.kind === 'answer') view.serial = (soa.records[0]?.data as { serial?: number }).serial ?? null;
      else view.error = [view.error, `SOA: ${soa.kind}`].filter(Boolean).join('; ');
      return view;
    }),
  );
  views.sort((a, b) => a.nameserver.localeCompare(b.nameserver) || a.address.localeCompare(b.address));
  const answered = views.filter((v) => v.mx !== null && v.serial !== null);
  const mxSets = new Set(answered.map((v) => JSON.stringify(v.mx)));
  const serials = new Set(answered.map((v) => v.serial));
  const findings = [];
  if (mxSets.size > 1 || serials.size > 1) {
    const lines = answered.map(
      (v) => `${v.nameserver} [${v.address}]: serial ${v.serial}, MX ${v.mx!.join(', ') || '(none)'}`,
    );
    findings.push(
      finding(
        'mx.nameservers-disagree',
        zone,
        `The authoritative servers of ${zone} disagree (${mxSets.size > 1 ? 'different MX sets' : 'different SOA serials'}): ${lines.join('; ')}. Fix zone transfers (NOTIFY/AXFR/IXFR) so every server serves the same zone.`,
        { servers: answered },
      ),
    );
  }
  return { findings, data: { nameservers: views } };
};
