/**
 * @module report/route
 * `mxray route`: the text view of a mail route — hosts in attempt order, the outcome in words, warnings.
 * The JSON view is the `MailRoute` object itself.
 */
import { assertNever } from '../core/errors.js';
import type { MailRoute, RouteOutcome } from '../mx/route.js';
import type { TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

/** The outcome in words. */
export function describeOutcome(route: MailRoute): string {
  const o: RouteOutcome = route.outcome;
  switch (o) {
    case 'deliverable': {
      const n = route.hosts.length;
      if (route.implicit) return 'deliverable to the implicit MX (the domain itself)';
      return `deliverable: ${n} exchange${n === 1 ? '' : 's'} in attempt order`;
    }
    case 'null-mx':
      return 'accepts no mail (null MX, RFC 7505)';
    case 'no-mail-route':
      return 'no mail route';
    case 'no-domain':
      return 'no such domain (NXDOMAIN)';
    case 'temp-failure':
      return 'temporary failure: a sender would queue the mail and retry';
    default:
      return assertNever(o);
  }
}

/** Renders a route as text. */
export function renderRouteText(route: MailRoute, options: TextOptions): string {
  const c = colors(options);
  const mark =
    route.outcome === 'deliverable' ? c.green('✔') : route.outcome === 'temp-failure' ? c.yellow('⚠') : c.red('✖');
  const lines = [`${mark} ${c.bold(route.domain)}: ${describeOutcome(route)}`];
  if (route.reason) lines.push(`  ${route.reason}`);
  if (route.hosts.length > 0) {
    const rows = [['#', 'PREF', 'EXCHANGE', 'ADDRESSES'].map((h) => c.dim(h))];
    route.hosts.forEach((h, i) => {
      const addrs = h.addresses.length > 0 ? h.addresses.join(', ') : c.red(`— ${h.error ?? 'no address'}`);
      const name = h.canonical ? `${h.exchange} → ${h.canonical}` : h.exchange;
      rows.push([String(i + 1), String(h.preference), name, addrs]);
    });
    lines.push('', ...alignColumns(rows, [0, 1]).map((l) => `  ${l}`));
  }
  if (route.pruned) {
    lines.push(
      '',
      `  pruned as ${route.pruned.matched} (preference ${route.pruned.preference}): dropped ${route.pruned.dropped.join(', ')}`,
    );
  }
  if (route.warnings.length > 0) {
    lines.push('', ...route.warnings.map((w) => `  ${c.yellow('⚠')} ${w}`));
  }
  return lines.join('\n') + '\n';
}
