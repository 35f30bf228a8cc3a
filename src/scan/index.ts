/**
 * @module scan
 * Bulk routes: `scanDomains` (or `scanDomainBatches`, a batch of records at a time) and its pieces (input lines in
 * batches, the routes' lane, input parsing, the resume index, the rate limiter, the summary).
 */
export { scanDomainBatches, scanDomains } from './scan.js';
export { createRouteLane } from './lane.js';
export type { RouteLane, RouteLaneOptions } from './lane.js';
export { streamLines } from './lines.js';
export type { LineBatches, StreamLines } from './lines.js';
export type { ScanLines } from './reader.js';
export { createScanResolver, SCAN_CACHE_ENTRIES } from './resolver.js';
export type { ScanResolverOptions } from './resolver.js';
export type { ScanOptions } from './scan.js';
export type { ScanRecord } from './record.js';
export { errorRecord } from './record.js';
export { createInputParser, splitCsvLine } from './input.js';
export type { InputParserOptions, ScanInput } from './input.js';
export { createResumeIndexer, indexScanOutput, LineSet } from './resume.js';
export type { ResumeIndex, ResumeIndexer } from './resume.js';
export { createTokenBucket } from './rate-limit.js';
export { abortableSleep } from '../core/signal.js';
export type { Sleep, TokenBucket, TokenBucketOptions } from './rate-limit.js';
export { createScanSummary } from './summary.js';
export type { ScanSummary, ScanSummaryBuilder, SummaryOptions } from './summary.js';
