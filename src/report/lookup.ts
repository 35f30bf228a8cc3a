/**
 * @module report/lookup
 * `mxray lookup`: the JSON contract and the dig-like text view of one question's raw reply.
 */
import { assertNever } from '../core/errors.js';
import { fqdn } from '../dns/name.js';
import { formatRdata } from '../dns/presentation.js';
import type { QueryOutcome } from '../dns/resolver.js';
import type { DnsFlags, DnsQuestion, DnsRecord } from '../dns/types.js';
import type { TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

/** The `mxray lookup --json` contract (stable: fields are only ever added). */
export interface LookupJson {
  question: DnsQuestion;
  server: string;
  transport: string;
  /** The rcode mnemonic (`NOERROR`, `NXDOMAIN`, …), or null when no reply came. */
  rcode: string | null;
  flags: DnsFlags | null;
  answers: RecordJson[];
  authority: RecordJson[];
  additional: RecordJson[];
  attempts: number;
  elapsedMs: number;
  /** Why there is no reply (timeout, network error), else null. */
  error: string | null;
}

export interface RecordJson {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

function recordJson(r: DnsRecord): RecordJson {
  return { name: r.name, type: r.type, ttl: r.ttl, data: r.data };
}

/** Builds the JSON contract from a raw query outcome. */
export function lookupJson(question: DnsQuestion, o: QueryOutcome): LookupJson {
  const base = { question, server: o.server, transport: o.transport, attempts: o.attempts, elapsedMs: o.elapsedMs };
  switch (o.kind) {
    case 'response':
      return {
        ...base,
        rcode: o.response.rcode,
        flags: o.response.flags,
        answers: o.response.answers.map(recordJson),
        authority: o.response.authority.map(recordJson),
        additional: o.response.additional.map(recordJson),
        error: null,
      };
    case 'timeout':
    case 'network':
      return {
        ...base,
        rcode: null,
        flags: null,
        answers: [],
        authority: [],
        additional: [],
        error: o.kind === 'timeout' ? `no reply within ${o.timeoutMs} ms (${o.attempts} attempts)` : o.error,
      };
    default:
      return assertNever(o);
  }
}

/** One record per line in zone-file order: owner, TTL, class, type, data. */
export function recordRows(records: readonly RecordJson[]): string[][] {
  return records.map((r) => [fqdn(r.name), String(r.ttl), 'IN', r.type, formatRdata(r.type, r.data)]);
}

/** The dig-like view: a status line, flags, then each non-empty section as aligned zone-file lines. */
export function renderLookupText(result: LookupJson, options: TextOptions): string {
  const c = colors(options);
  const q = `${fqdn(result.question.name)} ${result.question.type}`;
  const lines: string[] = [];
  if (result.rcode === null) {
    lines.push(`${c.red('✖')} ${q} @${result.server}: ${result.error ?? 'no reply'}`);
    return lines.join('\n') + '\n';
  }
  const status = result.rcode === 'NOERROR' ? c.green(result.rcode) : c.yellow(result.rcode);
  lines.push(`;; ${q} @${result.server} (${result.transport}) ${status} in ${result.elapsedMs} ms`);
  const flags = Object.entries(result.flags ?? {})
    .filter(([, on]) => on)
    .map(([f]) => f);
  lines.push(
    `;; flags: ${flags.join(' ')}; answer: ${result.answers.length}, authority: ${result.authority.length}, additional: ${result.additional.length}`,
  );
  if (result.rcode === 'NOERROR' && result.answers.length === 0)
    lines.push(c.dim(';; no records of that type (NODATA)'));
  const sections: [string, RecordJson[]][] = [
    ['ANSWER', result.answers],
    ['AUTHORITY', result.authority],
    ['ADDITIONAL', result.additional],
  ];
  const all = sections.flatMap(([, records]) => recordRows(records));
  const aligned = alignColumns(all, [1]);
  let at = 0;
  for (const [title, records] of sections) {
    if (records.length === 0) continue;
    lines.push('', c.bold(`;; ${title}`));
    lines.push(...aligned.slice(at, at + records.length));
    at += records.length;
  }
  return lines.join('\n') + '\n';
}
