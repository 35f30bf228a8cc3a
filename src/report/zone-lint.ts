/**
 * @module report/zone-lint
 * Renderers of the `mxray zone` commands: lint issues as aligned `file:line  severity  id  message` lines
 * (like a compiler's), and a provider preset as zone-file lines (RFC 1035 §5.1) ready to paste.
 */
import type { Severity } from '../check/findings.js';
import { formatRdata, formatRecord } from '../dns/presentation.js';
import type { LintFileResult, LintIssue } from '../zone/lint.js';
import type { Preset } from '../zone/presets.js';
import type { Colors, TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

/** `mxray zone lint --json`: every issue of every file, in file then line order. */
export type ZoneLintJson = LintIssue[];

export function zoneLintJson(results: readonly LintFileResult[]): ZoneLintJson {
  return results.flatMap((r) => r.issues);
}

function paint(c: Colors, s: Severity): string {
  switch (s) {
    case 'error':
      return c.red(s);
    case 'warning':
      return c.yellow(s);
    default:
      return c.cyan(s);
  }
}

/** One aligned line per issue, then a summary: files read, issues by severity. */
export function renderZoneLintText(results: readonly LintFileResult[], options: TextOptions): string {
  const c = colors(options);
  const issues = zoneLintJson(results);
  const rows = issues.map((i) => [`${i.file}:${i.line}`, paint(c, i.severity), i.id, i.message]);
  const count = (s: Severity) => issues.filter((i) => i.severity === s).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const unreadable = results.filter((r) => r.unreadable).length;
  const records = results.reduce((n, r) => n + r.records, 0);
  const summary = [
    plural(results.length, 'file'),
    plural(records, 'record'),
    plural(count('error'), 'error'),
    plural(count('warning'), 'warning'),
    `${count('info')} info`,
  ];
  if (unreadable > 0) summary.push(c.red(`${unreadable} unreadable`));
  const mark = count('error') > 0 ? c.red('✖') : count('warning') > 0 ? c.yellow('!') : c.green('✔');
  const lines = alignColumns(rows);
  if (lines.length > 0) lines.push('');
  lines.push(`${mark} ${summary.join(', ')}`);
  return lines.join('\n') + '\n';
}

/** `mxray zone preset --json`. */
export interface PresetJson {
  preset: string;
  provider: string;
  name: string;
  domain: string;
  /** `rdata` in presentation form; `line` is the whole zone-file line. */
  records: { name: string; type: string; ttl: number; rdata: string; line: string }[];
  notes: string[];
}

export function presetJson(p: Preset): PresetJson {
  return {
    preset: p.preset,
    provider: p.provider,
    name: p.name,
    domain: p.domain,
    records: p.records.map((r) => ({
      name: r.name,
      type: r.type,
      ttl: r.ttl,
      rdata: formatRdata(r.type, r.data),
      line: formatRecord(r),
    })),
    notes: p.notes,
  };
}

/** The preset as a zone-file fragment: notes as `;` comments, then the records, columns aligned. */
export function renderPresetText(p: Preset, options: TextOptions): string {
  const c = colors(options);
  const json = presetJson(p);
  const rows = json.records.map((r) => [r.line.split(' ')[0] as string, String(r.ttl), 'IN', r.type, r.rdata]);
  const lines = [
    c.dim(`; ${p.name} (${p.preset}) for ${p.domain}`),
    ...p.notes.map((n) => c.dim(`; ${n}`)),
    ...alignColumns(rows, [1]),
  ];
  return lines.join('\n') + '\n';
}
