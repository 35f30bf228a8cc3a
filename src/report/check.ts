/**
 * @module report/check
 * `mxray check` reports: text (grouped by area, ✔/⚠/✖, the fix under each problem), Markdown, and a standalone
 * HTML page. Every string that came from DNS or SMTP is escaped before it reaches Markdown or HTML.
 */
import type { CheckReport } from '../check/run.js';
import type { Area, Finding, Severity } from '../check/findings.js';
import { describeOutcome } from './route.js';
import type { TextOptions } from './style.js';
import { colors } from './style.js';

export const AREAS: readonly { area: Area; title: string; section: string | null }[] = [
  { area: 'mx', title: 'MX records', section: 'mx' },
  { area: 'smtp', title: 'SMTP servers', section: 'smtp' },
  { area: 'spf', title: 'SPF', section: 'spf' },
  { area: 'dmarc', title: 'DMARC', section: 'dmarc' },
  { area: 'mta-sts', title: 'MTA-STS', section: 'mta-sts' },
  { area: 'tls-rpt', title: 'TLS-RPT', section: 'tls-rpt' },
  { area: 'dnssec', title: 'DNSSEC', section: 'dnssec' },
  { area: 'dane', title: 'DANE', section: 'dane' },
  { area: 'provider', title: 'Hosted mail', section: 'provider' },
  { area: 'blocklist', title: 'Blocklists', section: 'blocklists' },
];

const MARK: Record<Severity, string> = { error: '✖', warning: '⚠', info: 'ℹ' };

function skippedNote(report: CheckReport, section: string | null): string | null {
  if (!section) return null;
  const data = report.sections[section] as { skipped?: string } | undefined;
  if (data?.skipped) return data.skipped;
  const err = report.errors.find((e) => e.check === section);
  if (err) return `could not run: ${err.error}`;
  return section in report.sections ? null : 'not checked';
}

/** A line for an area without findings, when its data says more than "no problems". */
function okNote(report: CheckReport, section: string | null): string {
  if (section === 'provider') {
    const p = report.sections.provider as { name?: string; provider: string | null } | undefined;
    if (p?.provider) return `${p.name ?? p.provider}: the MX set matches its documented records`;
    return 'no hosted-mail provider recognised';
  }
  if (section === 'dane') {
    const d = report.sections.dane as { exchanges?: { secure?: boolean; tlsa?: unknown[] }[] } | undefined;
    const list = d?.exchanges ?? [];
    if (list.length > 0 && list.every((e) => !e.secure))
      return 'not applicable: the MX answers are not DNSSEC-secure (RFC 7672 §2.2)';
    if (list.length > 0 && list.every((e) => (e.tlsa ?? []).length === 0)) return 'no TLSA records published';
  }
  return 'no problems found';
}

function counts(report: CheckReport): string {
  const s = report.summary;
  const part = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${part(s.error, 'error')}, ${part(s.warning, 'warning')}, ${s.info} info`;
}

/** Text report of one domain. */
export function renderCheckText(report: CheckReport, options: TextOptions): string {
  const c = colors(options);
  const paint: Record<Severity, (s: string) => string> = { error: c.red, warning: c.yellow, info: c.cyan };
  const lines = [
    `${c.bold(report.domain)}: ${counts(report)}`,
    c.dim(
      `route: ${describeOutcome(report.route)}${report.route.hosts.length ? ` — ${report.route.hosts.map((h) => `${h.preference} ${h.exchange}`).join(', ')}` : ''}`,
    ),
  ];
  for (const { area, title, section } of AREAS) {
    const found = report.findings.filter((f) => f.area === area);
    const skipped = skippedNote(report, section);
    lines.push('', c.bold(title));
    if (found.length === 0) {
      lines.push(skipped ? `  ${c.dim('–')} ${c.dim(skipped)}` : `  ${c.green('✔')} ${okNote(report, section)}`);
      continue;
    }
    for (const f of found) {
      lines.push(`  ${paint[f.severity](MARK[f.severity])} ${f.id}  ${f.subject}`);
      lines.push(`      ${f.message}`);
    }
  }
  for (const e of report.errors.filter((x) => !AREAS.some((a) => a.section === x.check))) {
    lines.push('', `${c.yellow('⚠')} ${e.check} could not run: ${e.error}`);
  }
  return lines.join('\n') + '\n';
}

/** Escapes text for Markdown (inline) — DNS and SMTP data are not trusted. */
function md(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>&]/g, (ch) =>
    ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '&' ? '&amp;' : `\\${ch}`,
  );
}

/** Markdown report of one or more domains. */
export function renderCheckMarkdown(reports: readonly CheckReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    out.push(`## ${md(r.domain)}`, '', `${counts(r)}. Route: ${md(describeOutcome(r.route))}.`, '');
    for (const { area, title, section } of AREAS) {
      const found = r.findings.filter((f) => f.area === area);
      const skipped = skippedNote(r, section);
      out.push(`### ${title}`, '');
      if (found.length === 0) {
        out.push(skipped ? `– ${md(skipped)}` : `✔ ${md(okNote(r, section))}`, '');
        continue;
      }
      for (const f of found)
        out.push(`- ${MARK[f.severity]} **${f.severity}** \`${f.id}\` — ${md(f.subject)}: ${md(f.message)}`);
      out.push('');
    }
  }
  return out.join('\n');
}

function html(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** A standalone HTML page (inline CSS, no scripts, nothing loaded from elsewhere). */
export function renderCheckHtml(reports: readonly CheckReport[]): string {
  const body = reports
    .map((r) => {
      const areas = AREAS.map(({ area, title, section }) => {
        const found: Finding[] = r.findings.filter((f) => f.area === area);
        const skipped = skippedNote(r, section);
        const items =
          found.length === 0
            ? `<li class="ok">${skipped ? html(skipped) : `✔ ${html(okNote(r, section))}`}</li>`
            : found
                .map(
                  (f) =>
                    `<li class="${f.severity}"><span class="mark">${MARK[f.severity]}</span> <code>${html(f.id)}</code> <b>${html(f.subject)}</b><p>${html(f.message)}</p></li>`,
                )
                .join('\n');
        return `<section><h3>${html(title)}</h3><ul>${items}</ul></section>`;
      }).join('\n');
      const hosts = r.route.hosts
        .map(
          (h) =>
            `<tr><td>${h.preference}</td><td>${html(h.exchange)}</td><td>${html(h.addresses.join(', '))}</td></tr>`,
        )
        .join('');
      return `<article><h2>${html(r.domain)}</h2><p class="summary">${html(counts(r))} · ${html(describeOutcome(r.route))}</p>${hosts ? `<table><tr><th>Pref</th><th>Exchange</th><th>Addresses</th></tr>${hosts}</table>` : ''}${areas}</article>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>mxray check: ${html(reports.map((r) => r.domain).join(', '))}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f23}
h2{border-bottom:2px solid #ddd;padding-bottom:.2rem}h3{margin:1.2rem 0 .3rem}
ul{list-style:none;padding:0}li{padding:.3rem .6rem;margin:.2rem 0;border-left:4px solid #ccc;background:#fafafa}
li p{margin:.2rem 0 0}li.error{border-color:#d73a49}li.warning{border-color:#dbab09}li.info{border-color:#0366d6}
li.ok{border-color:#28a745}.mark{font-weight:bold}code{background:#eee;padding:0 .2rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}.summary{color:#555}
</style></head><body><h1>mxray check</h1>
${body}
</body></html>
`;
}
