/**
 * @module report/trace
 * `mxray trace`: the JSON contract and the `dig +trace`-like text view of an iterative resolution
 * (RFC 1034 §5.3.3): one aligned line per question sent, then the outcome.
 *
 * JSON (`TraceJson`):
 * ```
 * { question: {name, type},
 *   outcome: 'answer'|'nxdomain'|'nodata'|'lame'|'loop'|'step-limit'|'unreachable'|'server-error',
 *   reason: string|null,                       // why it stopped short of an answer
 *   answer: [{name, type, ttl, data}],         // the asked type at the end of the CNAME chain
 *   cnames: [{name, target, ttl}],
 *   steps: [{ step, depth,                     // depth > 0: finding a nameserver that had no glue
 *             question: {name, type},
 *             server: {name|null, address, port},
 *             zone,                            // the zone the server was asked for ('' = root)
 *             kind: 'referral'|'answer'|'cname'|'nxdomain'|'nodata'|'lame'|'server-error'|'timeout'|'network',
 *             rcode: string|null, aa: boolean,
 *             referral: {zone, nameservers: [{name, addresses: string[]}]} | null,
 *             records: [{name, type, ttl, data}],   // answer records, or the SOA of a negative answer
 *             elapsedMs, note: string|null }],
 *   elapsedMs }
 * ```
 * Names are lowercase without the trailing dot; the root is ''.
 */
import { fqdn } from '../dns/name.js';
import { formatRdata } from '../dns/presentation.js';
import type { CnameLink } from '../dns/classify.js';
import type { TraceOutcomeKind, TraceResult, TraceStep, TraceStepKind } from '../dns/trace.js';
import type { DnsQuestion, DnsRecord } from '../dns/types.js';
import type { RecordJson } from './lookup.js';
import type { Colors, TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

export interface TraceStepJson extends Omit<TraceStep, 'records'> {
  records: RecordJson[];
}

export interface TraceJson {
  question: DnsQuestion;
  outcome: TraceOutcomeKind;
  reason: string | null;
  answer: RecordJson[];
  cnames: CnameLink[];
  steps: TraceStepJson[];
  elapsedMs: number;
}

const recordJson = (r: DnsRecord): RecordJson => ({ name: r.name, type: r.type, ttl: r.ttl, data: r.data });

export function traceJson(t: TraceResult): TraceJson {
  return {
    question: t.question,
    outcome: t.kind,
    reason: t.reason,
    answer: t.records.map(recordJson),
    cnames: t.cnames,
    steps: t.steps.map((s) => ({ ...s, records: s.records.map(recordJson) })),
    elapsedMs: t.elapsedMs,
  };
}

function paintKind(c: Colors, kind: TraceStepKind): string {
  switch (kind) {
    case 'answer':
      return c.green(kind);
    case 'referral':
    case 'cname':
      return c.cyan(kind);
    case 'nxdomain':
    case 'nodata':
      return c.yellow(kind);
    default:
      return c.red(kind);
  }
}

const rr = (r: RecordJson) => `${fqdn(r.name)} ${r.type} ${formatRdata(r.type, r.data)}`;

function detail(s: TraceStepJson): string {
  switch (s.kind) {
    case 'referral': {
      const ns = (s.referral?.nameservers ?? []).map(
        (n) => `${fqdn(n.name)}${n.addresses.length > 0 ? ` [${n.addresses.join(' ')}]` : ' (no glue)'}`,
      );
      return `${fqdn(s.referral?.zone ?? '')} → ${ns.join(', ')}`;
    }
    case 'answer':
    case 'cname':
    case 'nxdomain':
    case 'nodata':
      return s.records.length > 0 ? s.records.map(rr).join('; ') : '';
    default:
      return s.note ?? '';
  }
}

/** One line per step: #, zone, server, result, time, detail; then the outcome line. */
export function renderTraceText(t: TraceJson, options: TextOptions): string {
  const c = colors(options);
  const q = `${fqdn(t.question.name)} ${t.question.type}`;
  const rows = t.steps.map((s) => {
    const server = `${s.server.name === null ? '' : `${fqdn(s.server.name)} `}${s.server.address}${s.server.port === 53 ? '' : `:${s.server.port}`}`;
    const asked = s.depth > 0 ? c.dim(`${'  '.repeat(s.depth - 1)}↳ ${fqdn(s.question.name)} ${s.question.type}`) : '';
    const flags = [s.rcode !== null && s.rcode !== 'NOERROR' && s.rcode !== 'NXDOMAIN' ? s.rcode : '', s.aa ? 'aa' : '']
      .filter((x) => x !== '')
      .join(' ');
    return [
      String(s.step),
      `${asked}${asked === '' ? '' : ' '}${fqdn(s.zone)}`,
      server,
      paintKind(c, s.kind),
      flags,
      `${s.elapsedMs} ms`,
      detail(s),
    ];
  });
  const lines = [`;; ${q}: iterative from the root, ${t.steps.length} quer${t.steps.length === 1 ? 'y' : 'ies'}`];
  lines.push(...alignColumns(rows, [0, 5]));
  lines.push('', outcomeLine(t, c, q));
  return lines.join('\n') + '\n';
}

function outcomeLine(t: TraceJson, c: Colors, q: string): string {
  const via = t.cnames.length > 0 ? ` (via CNAME ${t.cnames.map((l) => fqdn(l.target)).join(' → ')})` : '';
  switch (t.outcome) {
    case 'answer':
      return `${c.green('✔')} ${q}: ${t.answer.map((r) => formatRdata(r.type, r.data)).join(', ')}${via}`;
    case 'nxdomain':
      return `${c.yellow('✖')} ${q}: the name does not exist (NXDOMAIN)${via}`;
    case 'nodata':
      return `${c.yellow('✖')} ${q}: the name exists but has no ${t.question.type} records (NODATA)${via}`;
    default:
      return `${c.red('✖')} ${q}: ${t.outcome}: ${t.reason ?? ''}`;
  }
}
