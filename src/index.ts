/**
 * @module mxray
 * The public library API: DNS questions, mail routes (RFC 5321 §5.1), and the error registry.
 * The lab lives at `mxray/lab`, test helpers at `mxray/testing`.
 */
export { ERROR_CODES, MxError, isMxError } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { seededRng, systemRng } from './core/random.js';
export type { Rng } from './core/random.js';
export { systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { DnsCache } from './dns/cache.js';
export type { CnameLink } from './dns/classify.js';
export { canonicalName, fqdn, normalizeName } from './dns/name.js';
export { createResolver, queryChannel } from './dns/resolver.js';
export type {
  CallOptions,
  DnsOutcome,
  DnsOutcomeKind,
  Provenance,
  QueryOutcome,
  Resolver,
  ResolverOptions,
} from './dns/resolver.js';
export { UdpPool } from './dns/transport/pool.js';
export type { UdpPoolOptions } from './dns/transport/pool.js';
export { nativeDatagramIo } from './dns/transport/datagram.js';
export type { DatagramIo } from './dns/transport/datagram.js';
export { TcpPool } from './dns/transport/tcp-pool.js';
export type { TcpPoolOptions } from './dns/transport/tcp-pool.js';
export type { BulkStats, ExchangePool } from './dns/transport/bulk.js';
export { reverseName } from './dns/reverse.js';
export { formatServer, parseServer, systemServers } from './dns/servers.js';
export type { DnsFlags, DnsQuestion, DnsRecord, DnsResponse, DnsServer, RecordType, Transport } from './dns/types.js';
export { isTemporary } from './mx/failure.js';
export { orderExchanges, pruneLocal, resolveRoute } from './mx/route.js';
export type { MailRoute, RouteHost, RouteOptions, RouteOutcome } from './mx/route.js';
export { lookupJson } from './report/lookup.js';
export type { LookupJson } from './report/lookup.js';
