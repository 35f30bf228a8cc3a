/**
 * @module report/scan
 * Renderers for `mxray scan`: one JSONL line or CSV row (RFC 4180) per record, the progress line and the
 * end-of-scan summary. Pure: data in, text out.
 */
import type { ScanCheckRecord } from '../scan/check.js';
import type { RouteHost } from '../mx/route.js';
import type { ScanRecord } from '../scan/record.js';
import type { ScanSummary } from '../scan/summary.js';
import type { TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

/** The CSV columns, in order. */
export const SCAN_CSV_COLUMNS = [
  'domain',
  'outcome',
  'implicit',
  'exchanges',
  'addresses',
  'warnings',
  'error',
] as const;

/**
 * One record as a JSON line (with its newline).
 * @example renderScanJsonl(record) // '{"domain":"example.com","outcome":"deliverable",…,"line":1,"error":null}\n'
 */
export function renderScanJsonl(record: ScanRecord | ScanCheckRecord): string {
  return 'findings' in record ? JSON.stringify(record) + '\n' : routeJsonl(record);
}

const json = JSON.stringify;
const text = (value: string | null): string => (value === null ? 'null' : json(value));
const num = (value: number | null): string => (value !== null && Number.isFinite(value) ? String(value) : 'null');
function strings(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + json(list[i]);
  return out + ']';
}

/** A host's JSON around its preference, kept per address list (see `hostJson`). */
interface HostText {
  exchange: string;
  ipv4: readonly string[];
  ipv6: readonly string[];
  lengths: number;
  canonical: string | null;
  error: string | null;
  head: string;
  tail: string;
  /** `head` and `tail` as UTF-8, made when first written as bytes (`writeScanJsonl`). */
  bytes: { head: Uint8Array; tail: Uint8Array } | null;
}

const hostTexts = new WeakMap<readonly string[], HostText>();

/**
 * A host as JSON. The hosts of a scan's records share their exchange's address arrays (scan/lane), so the text
 * around the preference is made once per exchange and found again by its `addresses` array; it is used only
 * while every other field is still the same.
 */
function hostJson(h: RouteHost): string {
  const t = hostText(h);
  return t.head + num(h.preference) + t.tail;
}

/** The JSON around a host's preference, made once per exchange (see `hostJson`). */
function hostText(h: RouteHost): HostText {
  const lengths = h.addresses.length + 100 * (h.ipv4.length + 100 * h.ipv6.length);
  let t = hostTexts.get(h.addresses);
  if (
    t === undefined ||
    t.exchange !== h.exchange ||
    t.ipv4 !== h.ipv4 ||
    t.ipv6 !== h.ipv6 ||
    t.lengths !== lengths ||
    t.canonical !== h.canonical ||
    t.error !== h.error
  ) {
    t = {
      exchange: h.exchange,
      ipv4: h.ipv4,
      ipv6: h.ipv6,
      lengths,
      canonical: h.canonical,
      error: h.error,
      // Joined, not concatenated: a flat string, copied as one piece into every record that uses it (a string
      // made of many concatenations would be walked piece by piece each time).
      head: ['{"exchange":', json(h.exchange), ',"preference":'].join(''),
      tail: [
        ',"addresses":',
        strings(h.addresses),
        ',"ipv4":',
        strings(h.ipv4),
        ',"ipv6":',
        strings(h.ipv6),
        ',"canonical":',
        text(h.canonical),
        ',"error":',
        text(h.error),
        '}',
      ].join(''),
      bytes: null,
    };
    hostTexts.set(h.addresses, t);
  }
  return t;
}

/**
 * Whether a record is a plain delivery route (most records of a scan): every field but the domain, its hosts,
 * its numbers and its input is a constant, which both JSON writers write in one piece.
 */
function isPlainRoute(r: ScanRecord): r is ScanRecord & { domain: string; ttl: number } {
  return (
    r.outcome === 'deliverable' &&
    r.domain !== null &&
    !r.implicit &&
    r.warnings.length === 0 &&
    r.reason === null &&
    r.canonical === null &&
    r.pruned === null &&
    r.error === null &&
    r.ttl !== null &&
    Number.isFinite(r.ttl)
  );
}

/**
 * A route record as JSON, field by field in the order of the contract: what `JSON.stringify` gives for a record
 * made by the scan (test/e2e/scan-lane.test.ts holds them equal), for far less work and garbage, which counts
 * when a scan writes tens of thousands of records a second.
 */
function routeJsonl(r: ScanRecord): string {
  let hosts = '';
  for (let i = 0; i < r.hosts.length; i++) hosts += (i === 0 ? '' : ',') + hostJson(r.hosts[i]!);
  const input = json(r.input);
  // Most records are a plain delivery route of a domain given as is: their constant fields in one piece.
  if (isPlainRoute(r)) {
    const domain = r.domain === r.input ? input : text(r.domain);
    return (
      `{"domain":${domain},"outcome":"deliverable","implicit":false,"hosts":[${hosts}],"warnings":[],"reason":null,` +
      `"ttl":${r.ttl},"canonical":null,"pruned":null,"queries":${num(r.queries)},"elapsedMs":${num(r.elapsedMs)},` +
      `"input":${input},"line":${num(r.line)},"error":null}\n`
    );
  }
  return (
    `{"domain":${text(r.domain)},"outcome":${text(r.outcome)},"implicit":${String(r.implicit)},"hosts":[${hosts}],` +
    `"warnings":${strings(r.warnings)},"reason":${text(r.reason)},"ttl":${num(r.ttl)},` +
    `"canonical":${text(r.canonical)},"pruned":${r.pruned === null ? 'null' : json(r.pruned)},` +
    `"queries":${num(r.queries)},"elapsedMs":${num(r.elapsedMs)},"input":${input},"line":${num(r.line)},` +
    `"error":${text(r.error)}}\n`
  );
}

/** The constant pieces of a plain record's JSON line (see `writeScanJsonl`), as bytes. */
const PIECES = {
  domain: Buffer.from('{"domain":"'),
  hosts: Buffer.from('","outcome":"deliverable","implicit":false,"hosts":['),
  ttl: Buffer.from('],"warnings":[],"reason":null,"ttl":'),
  queries: Buffer.from(',"canonical":null,"pruned":null,"queries":'),
  elapsedMs: Buffer.from(',"elapsedMs":'),
  input: Buffer.from(',"input":"'),
  line: Buffer.from('","line":'),
  end: Buffer.from(',"error":null}\n'),
};
const COMMA = Buffer.from(',');

/** Copies `piece` into `buf` at `at`; the end, or -1 when it does not fit. */
function put(buf: Uint8Array, at: number, piece: Uint8Array): number {
  if (at < 0 || at + piece.length > buf.length) return -1;
  buf.set(piece, at);
  return at + piece.length;
}

/** Writes a string that JSON leaves as it is (printable ASCII, no quote or backslash); -1 otherwise, or when it does not fit. */
function putPlain(buf: Uint8Array, at: number, text: string): number {
  if (at < 0 || at + text.length > buf.length) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    buf[at + i] = c;
  }
  return at + text.length;
}

/** Writes a whole number 0 ≤ n < 2³¹ in decimal; -1 for any other number, or when it does not fit. */
function putCount(buf: Uint8Array, at: number, n: number | null): number {
  if (at < 0 || n === null || !(n >= 0 && n < 2 ** 31) || n % 1 !== 0) return -1;
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  if (at + digits > buf.length) return -1;
  for (let i = at + digits - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) buf[i] = 0x30 + (x % 10);
  return at + digits;
}

/**
 * Writes the JSON line of a plain delivery route — the record of most domains of a scan — straight into `buf` at
 * `at`, as UTF-8, the very bytes `renderScanJsonl` gives: no string made, so no garbage, per record. Returns the
 * end, or -1 (having written nothing that counts) for any other record, one with a name or input JSON would
 * escape, or when `buf` has no room: the caller then writes `renderScanJsonl(record)`.
 */
export function writeScanJsonl(record: ScanRecord | ScanCheckRecord, buf: Uint8Array, at: number): number {
  if ('findings' in record || !isPlainRoute(record)) return -1;
  const r = record;
  let end = putPlain(buf, put(buf, at, PIECES.domain), r.domain);
  end = put(buf, end, PIECES.hosts);
  for (let i = 0; i < r.hosts.length && end >= 0; i++) {
    const h = r.hosts[i]!;
    const t = hostText(h);
    t.bytes ??= { head: Buffer.from(t.head), tail: Buffer.from(t.tail) };
    if (i > 0) end = put(buf, end, COMMA);
    end = put(buf, putCount(buf, put(buf, end, t.bytes.head), h.preference), t.bytes.tail);
  }
  end = putCount(buf, put(buf, end, PIECES.ttl), r.ttl);
  end = putCount(buf, put(buf, end, PIECES.queries), r.queries);
  end = putCount(buf, put(buf, end, PIECES.elapsedMs), r.elapsedMs);
  end = putPlain(buf, put(buf, end, PIECES.input), r.input);
  end = putCount(buf, put(buf, end, PIECES.line), r.line);
  return put(buf, end, PIECES.end);
}

/**
 * Quotes a CSV field when it holds a comma, quote or line break (RFC 4180 §2).
 * @example csvField('a, "b"') // '"a, ""b"""'
 */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The CSV header line (with its newline).
 * @example renderScanCsvHeader() // 'domain,outcome,implicit,exchanges,addresses,warnings,error\n'
 */
export function renderScanCsvHeader(): string {
  return SCAN_CSV_COLUMNS.join(',') + '\n';
}

/**
 * One record as a CSV row (a line in error shows its input as the domain): exchanges as `pref host` joined by `;`, addresses and warnings joined by `;`.
 * @example renderScanCsvRow(record) // 'example.com,deliverable,false,10 mx1.example.com;20 mx2.example.com,…\n'
 */
export function renderScanCsvRow(record: ScanRecord): string {
  const cells = [
    record.domain ?? record.input,
    record.outcome ?? '',
    record.outcome === null ? '' : String(record.implicit),
    record.hosts.map((h) => `${h.preference} ${h.exchange}`).join(';'),
    [...new Set(record.hosts.flatMap((h) => h.addresses))].join(';'),
    record.warnings.join(';'),
    record.error ?? '',
  ];
  return cells.map(csvField).join(',') + '\n';
}

/** The CSV columns of `--what check`, in order. */
export const SCAN_CHECK_CSV_COLUMNS = ['domain', 'outcome', 'errors', 'warnings', 'info', 'findings', 'error'] as const;

/** The CSV header line of `--what check` (with its newline). */
export function renderScanCheckCsvHeader(): string {
  return SCAN_CHECK_CSV_COLUMNS.join(',') + '\n';
}

/**
 * One audited domain as a CSV row: the counts by severity and the finding ids joined by `;`.
 * @example renderScanCheckCsvRow(record) // 'example.com,deliverable,0,2,1,spf.permissive-all;…,\n'
 */
export function renderScanCheckCsvRow(record: ScanCheckRecord): string {
  const cells = [
    record.domain ?? record.input,
    record.route?.outcome ?? '',
    record.error === null ? String(record.summary.error) : '',
    record.error === null ? String(record.summary.warning) : '',
    record.error === null ? String(record.summary.info) : '',
    [...new Set(record.findings.map((f) => f.id))].join(';'),
    record.error ?? '',
  ];
  return cells.map(csvField).join(',') + '\n';
}

export interface ScanProgress {
  done: number;
  /** Input lines in all, when known. */
  total: number | null;
  errors: number;
  elapsedMs: number;
}

/**
 * The one-line progress view: done/total, rate, errors and ETA (no newline; the CLI redraws it in place).
 * @example renderScanProgress({ done: 50, total: 100, errors: 1, elapsedMs: 5000 })
 * // 'scan: 50/100 (50%)  10.0/s  1 error  ETA 5s'
 */
export function renderScanProgress(p: ScanProgress): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const parts = [
    p.total === null
      ? `scan: ${p.done}`
      : `scan: ${p.done}/${p.total} (${p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100}%)`,
    `${rate.toFixed(1)}/s`,
    `${p.errors} error${p.errors === 1 ? '' : 's'}`,
  ];
  if (p.total !== null && rate > 0) parts.push(`ETA ${formatSeconds(Math.max(0, p.total - p.done) / rate)}`);
  return parts.join('  ');
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** What a local scan's resolver did, for the summary: queries sent, sent again and timed out, cache answers. */
export interface ScanDnsTotals {
  queries: number;
  /** Queries sent again within their time limit (a datagram with no reply in time, a connection lost). */
  resent?: number;
  timedOut: number;
  cached: number;
}

/**
 * The end-of-scan summary: outcome counts, the top exchanges and providers, the slowest domains.
 * @example renderScanSummary(summary, { color: false, elapsedMs: 1200 })
 */
export function renderScanSummary(
  s: ScanSummary,
  options: TextOptions & { elapsedMs: number; dns?: ScanDnsTotals },
): string {
  const c = colors(options);
  const lines: string[] = [];
  const secs = (options.elapsedMs / 1000).toFixed(1);
  lines.push(c.bold(`scanned ${s.total} line${s.total === 1 ? '' : 's'} in ${secs}s`));
  if (options.dns) {
    const d = options.dns;
    const lost = d.timedOut > 0 ? c.yellow(`${d.timedOut} timed out`) : '0 timed out';
    const resent = d.resent ? `${d.resent} resent, ` : '';
    lines.push(`  dns: ${d.queries} queries sent (${resent}${lost}), ${d.cached} answered from the cache`);
  }
  const outcomeRows = Object.entries(s.outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => ['  ' + k, String(n)]);
  if (s.errors > 0) outcomeRows.push(['  ' + c.red('invalid lines'), String(s.errors)]);
  lines.push(...alignColumns(outcomeRows, [1]));
  if (s.topExchanges.length > 0) {
    lines.push(c.bold('top exchanges'));
    lines.push(
      ...alignColumns(
        s.topExchanges.map((e) => ['  ' + e.exchange, String(e.domains)]),
        [1],
      ),
    );
  }
  if (s.topProviders.length > 0) {
    lines.push(c.bold('hosted-mail providers'));
    lines.push(
      ...alignColumns(
        s.topProviders.map((p) => ['  ' + p.name, String(p.domains)]),
        [1],
      ),
    );
  }
  if (s.topFindings.length > 0) {
    const mark = { error: c.red('✖'), warning: c.yellow('⚠'), info: c.cyan('ℹ') } as const;
    lines.push(c.bold('top findings'));
    lines.push(
      ...alignColumns(
        s.topFindings.map((f) => [`  ${mark[f.severity]} ${f.id}`, String(f.domains)]),
        [1],
      ),
    );
  }
  if (s.slowest.length > 0) {
    lines.push(c.bold('slowest'));
    lines.push(
      ...alignColumns(
        s.slowest.map((d) => ['  ' + d.domain, `line ${d.line}`, `${d.elapsedMs} ms`]),
        [2],
      ),
    );
  }
  return lines.join('\n') + '\n';
}
