/**
 * @module scan/queue/protocol
 * What the coordinator of a distributed scan and its workers exchange through Redis (docs/scan-queue.md):
 *
 * - `mxray:scans`, a sorted set: the id of every running scan, scored by the coordinator's last heartbeat
 *   (epoch ms). Workers serve every scan whose heartbeat is recent.
 * - one BullMQ queue per scan, `scan-<id>` under the key prefix `mxray`: a job per chunk of input, its data a
 *   `ChunkJob` (the domains with their input line numbers).
 * - `mxray:results:<id>`, a list: workers push `ResultBatch` JSON as records complete; the coordinator pops
 *   them. A chunk retried after a worker died may deliver some lines twice; the coordinator keeps the first.
 *
 * Everything read back from Redis is validated here before use: another program (or another version) may have
 * written it.
 */
import type { ScanCheckRecord } from '../check-record.js';
import type { ScanRecord } from '../record.js';
import { carriesNoDomain } from '../input.js';

/**
 * The version of the job and result shapes; bumped on any incompatible change. 2: a job says what to do with
 * its domains (`task`), so that a worker that cannot audit never answers an audit's chunk with routes.
 */
export const PROTOCOL_VERSION = 2;

/** The BullMQ key prefix of every scan queue. */
export const QUEUE_PREFIX = 'mxray';

/** The sorted set of running scans (member: scan id, score: last heartbeat in epoch ms). */
export const REGISTRY_KEY = `${QUEUE_PREFIX}:scans`;

/**
 * The set of scans whose coordinator was stopped (Ctrl-C): their workers start no more of their domains, and
 * hand in those in flight.
 */
export const STOPPING_KEY = `${QUEUE_PREFIX}:stopping`;

/** How often a coordinator renews its heartbeat. */
export const HEARTBEAT_MS = 5_000;

/** A scan whose heartbeat is older than this is not served by workers (its coordinator is gone). */
export const LIVE_MS = 60_000;

/** A scan whose heartbeat is older than this is removed, with its queue, by the next coordinator that starts. */
export const ABANDONED_MS = 60 * 60_000;

/** One domain of a chunk: its 1-based line in the input, the line as given, and the normalized name. */
export interface ChunkItem {
  line: number;
  input: string;
  domain: string;
}

/**
 * What the workers do with each domain of a scan: its mail route (`mxray scan`), or the audit of `mxray check`
 * (`mxray scan --what check`), with or without connecting to its mail servers (`--no-smtp`).
 */
export type ScanTask = { what: 'route' } | { what: 'check'; smtp: boolean };

/** A record of a distributed scan: a route, or an audit. */
export type QueueRecord = ScanRecord | ScanCheckRecord;

/** The data of one BullMQ job: a chunk of the input. */
export interface ChunkJob {
  v: typeof PROTOCOL_VERSION;
  /** The scan id (also in the queue name). */
  scan: string;
  /** The chunk's number, from 1, in input order. */
  chunk: number;
  task: ScanTask;
  items: ChunkItem[];
}

/** What a worker pushes to the results list: records of one chunk, in completion order. */
export interface ResultBatch {
  v: typeof PROTOCOL_VERSION;
  chunk: number;
  records: QueueRecord[];
}

const SCAN_ID = /^[0-9a-f]{8,32}$/;

/**
 * True when `id` is a well-formed scan id (lowercase hex, 8–32 digits).
 * @example isScanId('3fa2c0d19b7e4a51') // true
 */
export function isScanId(id: string): boolean {
  return SCAN_ID.test(id);
}

/**
 * The BullMQ queue name of a scan.
 * @example scanQueueName('3fa2c0d19b7e4a51') // 'scan-3fa2c0d19b7e4a51'
 */
export function scanQueueName(id: string): string {
  return `scan-${id}`;
}

/**
 * The results list of a scan.
 * @example resultsKey('3fa2c0d19b7e4a51') // 'mxray:results:3fa2c0d19b7e4a51'
 */
export function resultsKey(id: string): string {
  return `${QUEUE_PREFIX}:results:${id}`;
}

/**
 * The BullMQ job id of a chunk (stable, so a chunk is never queued twice under two ids).
 * @example chunkJobId(12) // 'chunk-12'
 */
export function chunkJobId(chunk: number): string {
  return `chunk-${chunk}`;
}

/**
 * The lock key BullMQ keeps for an active job while a worker holds it (`<prefix>:<queue>:<job id>:lock`).
 * A job that is active without it was held by a worker that stopped renewing it.
 */
export function jobLockKey(id: string, jobId: string): string {
  return `${QUEUE_PREFIX}:${scanQueueName(id)}:${jobId}:lock`;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

function isScanTask(v: unknown): v is ScanTask {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as { what?: unknown; smtp?: unknown };
  return t.what === 'route' || (t.what === 'check' && typeof t.smtp === 'boolean');
}

/**
 * Checks the data of a job taken from a scan queue; returns the chunk, or why it cannot be used.
 * @example parseChunkJob({ v: 2, scan: 'ab12cd34', chunk: 1, task: { what: 'route' }, items: [] }) // { kind: 'ok', job: … }
 */
export function parseChunkJob(data: unknown): { kind: 'ok'; job: ChunkJob } | { kind: 'invalid'; reason: string } {
  if (typeof data !== 'object' || data === null) return { kind: 'invalid', reason: 'the job data is not an object' };
  const d = data as Partial<Record<keyof ChunkJob, unknown>>;
  if (d.v !== PROTOCOL_VERSION) {
    return {
      kind: 'invalid',
      reason: `the job is protocol version ${JSON.stringify(d.v)}; this worker speaks version ${PROTOCOL_VERSION}`,
    };
  }
  if (typeof d.scan !== 'string' || !isScanId(d.scan))
    return { kind: 'invalid', reason: 'the job has no valid scan id' };
  if (!isPositiveInteger(d.chunk)) return { kind: 'invalid', reason: 'the job has no valid chunk number' };
  if (!isScanTask(d.task)) return { kind: 'invalid', reason: 'the job does not say what to do (route or check)' };
  if (!Array.isArray(d.items)) return { kind: 'invalid', reason: 'the job has no items' };
  for (const [i, item] of (d.items as unknown[]).entries()) {
    const it = item as Partial<Record<keyof ChunkItem, unknown>> | null;
    if (
      typeof it !== 'object' ||
      it === null ||
      !isPositiveInteger(it.line) ||
      typeof it.input !== 'string' ||
      typeof it.domain !== 'string' ||
      carriesNoDomain(it.domain)
    ) {
      return { kind: 'invalid', reason: `item ${i + 1} of chunk ${d.chunk} is not {line, input, domain}` };
    }
  }
  return { kind: 'ok', job: d as ChunkJob };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const OUTCOMES = new Set(['deliverable', 'null-mx', 'no-mail-route', 'no-domain', 'temp-failure']);
const SEVERITIES = new Set(['error', 'warning', 'info']);

/** A host of the route contract, with every field the output and the summary read. */
function isRouteHost(h: unknown): boolean {
  return (
    isObject(h) &&
    isString(h.exchange) &&
    isNumber(h.preference) &&
    isStrings(h.addresses) &&
    isStrings(h.ipv4) &&
    isStrings(h.ipv6) &&
    isStringOrNull(h.canonical) &&
    isStringOrNull(h.error)
  );
}

/** The route contract's fields (`outcome` null allowed for a line that was not scanned). */
function isRoute(r: Record<string, unknown>): boolean {
  return (
    isStringOrNull(r.domain) &&
    (r.outcome === null || OUTCOMES.has(r.outcome as string)) &&
    typeof r.implicit === 'boolean' &&
    Array.isArray(r.hosts) &&
    r.hosts.every(isRouteHost) &&
    isStrings(r.warnings) &&
    isStringOrNull(r.reason) &&
    (r.ttl === null || isNumber(r.ttl)) &&
    isStringOrNull(r.canonical) &&
    (r.pruned === null || isObject(r.pruned)) &&
    isNumber(r.queries) &&
    isNumber(r.elapsedMs)
  );
}

/** An audit record's fields (`mxray check --json` plus the scan's). */
function isAudit(r: Record<string, unknown>): boolean {
  return (
    isStringOrNull(r.domain) &&
    (r.route === null || (isObject(r.route) && isRoute(r.route))) &&
    Array.isArray(r.findings) &&
    r.findings.every((f) => isObject(f) && isString(f.id) && SEVERITIES.has(f.severity as string)) &&
    isObject(r.summary) &&
    [...SEVERITIES].every((k) => isNumber((r.summary as Record<string, unknown>)[k])) &&
    isObject(r.sections) &&
    Array.isArray(r.errors) &&
    isStringOrNull(r.checkedAt) &&
    isNumber(r.elapsedMs)
  );
}

/**
 * True when `r` is a record of the kind `task` makes, with what the coordinator's writers and summary read.
 * @example isQueueRecord(errorRecord({ line: 1, input: 'a..b' }, 'invalid'), { what: 'route' }) // true
 */
export function isQueueRecord(r: unknown, task: ScanTask): r is QueueRecord {
  if (!isObject(r) || !isPositiveInteger(r.line) || !isString(r.input) || !isStringOrNull(r.error)) return false;
  return task.what === 'route' ? isRoute(r) : isAudit(r);
}

/**
 * Parses one entry of a results list of a scan doing `task`; null when it is not a result batch of this
 * protocol version with records of that kind (such an entry is skipped: its lines stay unwritten and a
 * `--resume` scans them again).
 * @example parseResultBatch('{"v":2,"chunk":3,"records":[…]}', { what: 'route' })?.chunk // 3
 */
export function parseResultBatch(text: string, task: ScanTask): ResultBatch | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Partial<Record<keyof ResultBatch, unknown>>;
  if (d.v !== PROTOCOL_VERSION || !isPositiveInteger(d.chunk) || !Array.isArray(d.records)) return null;
  const records = d.records as unknown[];
  if (!records.every((r) => isQueueRecord(r, task))) return null;
  return { v: PROTOCOL_VERSION, chunk: d.chunk, records: records };
}
