/**
 * @module check/checks/provider
 * Hosted mail: recognise the provider by its MX patterns (Google Workspace, Microsoft 365, Zoho, Fastmail,
 * Proton, Yahoo, iCloud) and say how the domain's MX set deviates from the provider's documented records.
 */
import { detectProvider } from '../../zone/presets.js';
import type { Check } from '../context.js';
import { finding } from '../findings.js';

export const checkProvider: Check = (ctx) => {
  const mx = ctx.route.implicit ? [] : ctx.route.hosts.map((h) => ({ preference: h.preference, exchange: h.exchange }));
  const match = mx.length > 0 ? detectProvider(mx, { domain: ctx.domain }) : null;
  if (!match) return Promise.resolve({ findings: [], data: { provider: null } });
  const findings =
    match.deviations.length > 0
      ? [
          finding(
            'provider.deviation',
            ctx.domain,
            `The MX set looks like ${match.name} but differs from its documented records: ${match.deviations.join(' ')}${match.preset ? ` Use the records of "mxray zone preset ${match.preset} --domain ${ctx.domain}".` : ''}`,
            { provider: match.provider, deviations: match.deviations, mx },
          ),
        ]
      : [];
  return Promise.resolve({
    findings,
    data: { provider: match.provider, name: match.name, preset: match.preset, deviations: match.deviations },
  });
};
