/**
 * @module report/probe
 * `mxray probe`: text view of probe results, one block per address, and the reachability verdict.
 */
import type { ProbeResult } from '../smtp/probe.js';
import type { ReachabilityVerdict } from '../smtp/probe-targets.js';
import { renderTranscript } from '../smtp/transcript.js';
import type { TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

export interface ProbeTextOptions extends TextOptions {
  transcript: boolean;
}

/** Renders probe results as text. */
export function renderProbeText(
  results: readonly ProbeResult[],
  verdict: ReachabilityVerdict,
  options: ProbeTextOptions,
): string {
  const c = colors(options);
  const ok = (b: boolean | null, yes: string, no: string) =>
    b === null ? c.dim('n/a') : b ? `${c.green('✔')} ${yes}` : `${c.red('✖')} ${no}`;
  const blocks: string[] = [];
  for (const r of results) {
    const title = `${r.host ?? r.address} [${r.address}]:${r.port}`;
    const mark = r.error ? c.red('✖') : c.green('✔');
    const rows: string[][] = [];
    rows.push(['connect', r.connected ? `${r.timings.connectMs} ms` : c.red(r.error ?? 'failed')]);
    if (r.banner)
      rows.push([
        'banner',
        `${r.banner.code} ${r.banner.text}${r.timings.greetingMs !== null ? c.dim(` (${r.timings.greetingMs} ms)`) : ''}`,
      ]);
    if (r.ehlo)
      rows.push([r.ehlo.command.toLowerCase(), `${r.ehlo.code} ${r.ehlo.extensions.join(' ') || '(no extensions)'}`]);
    if (r.ehlo)
      rows.push([
        'starttls',
        r.starttlsOffered
          ? r.tls
            ? `${r.tls.protocol ?? '?'} ${r.tls.cipher ?? ''}`
            : 'offered (not used)'
          : c.yellow('not offered'),
      ]);
    const cert = r.tls?.certificate;
    if (cert) {
      rows.push(['subject', `${cert.subject}${cert.altNames.length ? `; SAN ${cert.altNames.join(', ')}` : ''}`]);
      rows.push(['issuer', cert.issuer]);
      const left =
        cert.daysLeft < 0
          ? c.red(`expired ${-cert.daysLeft} days ago`)
          : cert.daysLeft < 14
            ? c.yellow(`${cert.daysLeft} days left`)
            : `${cert.daysLeft} days left`;
      rows.push(['valid', `${cert.validFrom.slice(0, 10)} → ${cert.validTo.slice(0, 10)} (${left})`]);
      rows.push([
        'trusted',
        ok(
          cert.trusted,
          'by the CA store',
          `${cert.selfSigned ? 'self-signed' : 'untrusted'}${cert.trustError ? ` (${cert.trustError})` : ''}`,
        ),
      ]);
      rows.push(['name', ok(cert.nameMatches, `matches ${r.host ?? ''}`, `does not match ${r.host ?? ''}`)]);
    }
    if (r.error && r.connected) rows.push(['error', c.red(r.error)]);
    const lines = [`${mark} ${c.bold(title)}`, ...alignColumns(rows).map((l) => `    ${l}`)];
    if (options.transcript) lines.push('', ...renderTranscript(r.transcript).map((l) => `    ${c.dim(l)}`));
    blocks.push(lines.join('\n'));
  }
  if (verdict.kind !== 'ok') blocks.push(`${c.yellow('⚠')} ${verdict.message}`);
  return blocks.join('\n\n') + '\n';
}
