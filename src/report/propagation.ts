/**
 * @module report/propagation
 * `mxray propagation`: the JSON contract and the text view of one question compared across resolvers and
 * the authoritative servers (dns/propagation.ts).
 *
 * JSON (`PropagationJson`):
 * ```
 * { question: {name, type},
 *   status: 'consistent'|'disagreement'|'no-answer',
 *   referenceSource: 'authoritative'|'majority'|null,   // where the answer compared against comes from
 *   authoritativeAgree: boolean,
 *   zone: {name|null, nameservers: [{name, addresses}], error|null},
 *   groups: [{id, kind: 'answer'|'nxdomain'|'nodata', answer: string[],   // sorted `TYPE rdata`
 *             members: number[],                        // indexes into servers
 *             resolvers, authoritative, reference: boolean}],
 *   servers: [{role: 'resolver'|'authoritative', label, country|null, server: 'host:port',
 *              kind: 'answer'|'nxdomain'|'nodata'|'referral'|'servfail'|'refused'|'error'|'timeout'|'network',
 *              rcode|null, aa, answer: string[], records: [{name, type, ttl, data}], ttl|null,
 *              elapsedMs, error|null,
 *              group: number|null,                      // a groups[].id; null without a usable reply
 *              agrees: boolean|null}],                  // same answer as the reference; null: no usable reply
 *   disagreeing: number[], failed: number[],            // indexes into servers
 *   elapsedMs }
 * ```
 */
import { fqdn } from '../dns/name.js';
import type { AnswerGroup, PropagationResult, PropagationStatus, ServerAnswer } from '../dns/propagation.js';
import type { DnsQuestion } from '../dns/types.js';
import type { RecordJson } from './lookup.js';
import type { Colors, TextOptions } from './style.js';
import { alignColumns, colors } from './style.js';

export interface ServerJson extends Omit<ServerAnswer, 'records'> {
  records: RecordJson[];
  group: number | null;
  agrees: boolean | null;
}

export interface PropagationJson {
  question: DnsQuestion;
  status: PropagationStatus;
  referenceSource: 'authoritative' | 'majority' | null;
  authoritativeAgree: boolean;
  zone: PropagationResult['zone'];
  groups: AnswerGroup[];
  servers: ServerJson[];
  disagreeing: number[];
  failed: number[];
  elapsedMs: number;
}

export function propagationJson(p: PropagationResult): PropagationJson {
  const reference = p.groups.find((g) => g.reference)?.id ?? null;
  return {
    question: p.question,
    status: p.status,
    referenceSource: p.referenceSource,
    authoritativeAgree: p.authoritativeAgree,
    zone: p.zone,
    groups: p.groups,
    servers: p.servers.map((s, i) => {
      const group = p.groupOf[i] ?? null;
      return {
        ...s,
        records: s.records.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, data: r.data })),
        group,
        agrees: group === null || reference === null ? null : group === reference,
      };
    }),
    disagreeing: p.disagreeing,
    failed: p.failed,
    elapsedMs: p.elapsedMs,
  };
}

function groupText(kind: AnswerGroup['kind'] | ServerAnswer['kind'], answer: readonly string[]): string {
  if (kind === 'nxdomain') return 'NXDOMAIN';
  if (kind === 'nodata') return 'NODATA (no records of the type)';
  return answer.join(', ');
}

function headline(p: PropagationJson, c: Colors): string {
  const resolvers = p.servers.filter((s) => s.role === 'resolver').length;
  const against = p.referenceSource === 'authoritative' ? 'the authoritative answer' : 'the most common answer';
  const disagreeing = p.disagreeing.map((i) => p.servers[i]).filter((s) => s?.role === 'resolver').length;
  switch (p.status) {
    case 'consistent':
      return `${c.green('✔')} every server that answered agrees with ${against}`;
    case 'disagreement': {
      const parts: string[] = [];
      if (disagreeing > 0) parts.push(`${disagreeing} of ${resolvers} resolvers disagree with ${against}`);
      if (!p.authoritativeAgree) parts.push('the authoritative servers disagree among themselves');
      return `${c.red('✖')} ${parts.join('; ')}`;
    }
    case 'no-answer':
      return `${c.red('✖')} no server gave a usable answer`;
  }
}

/** Headline, the groups (reference first), then one aligned line per server. */
export function renderPropagationText(p: PropagationJson, options: TextOptions): string {
  const c = colors(options);
  const q = `${fqdn(p.question.name)} ${p.question.type}`;
  const auth = p.servers.filter((s) => s.role === 'authoritative').length;
  const resolvers = p.servers.length - auth;
  const lines = [
    `;; ${q}: ${resolvers} resolver${resolvers === 1 ? '' : 's'}, ${auth} authoritative server${auth === 1 ? '' : 's'} (zone ${p.zone.name === null ? '?' : fqdn(p.zone.name)}), ${p.elapsedMs} ms`,
    headline(p, c),
  ];
  if (p.zone.error !== null) lines.push(c.yellow(`! authoritative servers: ${p.zone.error}`));
  if (p.referenceSource === 'majority')
    lines.push(c.yellow('! no authoritative answer: compared with the most common answer instead'));

  if (p.groups.length > 0) {
    lines.push('');
    const rows = p.groups.map((g) => [
      `#${g.id}`,
      g.reference ? c.green(p.referenceSource === 'authoritative' ? 'authoritative' : 'majority') : c.red('differs'),
      `${g.members.length} server${g.members.length === 1 ? '' : 's'}`,
      groupText(g.kind, g.answer),
    ]);
    lines.push(...alignColumns(rows));
  }

  lines.push('');
  const rows = p.servers.map((s) => {
    const mark = s.agrees === null ? c.yellow('?') : s.agrees ? c.green('✔') : c.red('✖');
    const result =
      s.group !== null
        ? `#${s.group}${s.ttl === null ? '' : `  ttl ${s.ttl}`}`
        : c.yellow(`${s.kind}: ${s.error ?? ''}`);
    return [
      mark,
      s.role === 'authoritative' ? c.bold(fqdn(s.label)) : s.label,
      s.server,
      s.role === 'authoritative' ? 'auth' : (s.country ?? ''),
      `${s.elapsedMs} ms`,
      result,
    ];
  });
  lines.push(...alignColumns(rows, [4]));
  return lines.join('\n') + '\n';
}
