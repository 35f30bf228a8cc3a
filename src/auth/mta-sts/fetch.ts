/**
 * @module auth/mta-sts/fetch
 * Fetching the MTA-STS policy the way a sending MTA must (RFC 8461 §3.3): `GET
 * https://mta-sts.<domain>/.well-known/mta-sts.txt`, the certificate valid for `mta-sts.<domain>` and chaining
 * to a trusted root (Node's store plus any extra CAs), redirects NOT followed (a 3xx is a failure), only a 200
 * with media type text/plain accepted (§3.2), a size cap and a timeout. The connect address comes from our
 * resolver (A/AAAA of `mta-sts.<domain>`), while SNI, the Host header and the certificate check use the name.
 * mailauth's `fetchPolicy` is not used: it hard-codes port 443 and the system CA store.
 * Every failure is an outcome saying why; only the caller's abort throws.
 */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { deadline } from '../../core/signal.js';
import type { CallOptions, DnsOutcome, Resolver } from '../../dns/resolver.js';

/** RFC 8461 §3.3 lets senders cap the policy size; 64 KiB is far above any real policy. */
export const POLICY_MAX_BYTES = 64 * 1024;
export const POLICY_TIMEOUT_MS = 10_000;
export const POLICY_PATH = '/.well-known/mta-sts.txt';

export interface FetchPolicyOptions extends CallOptions {
  resolver: Resolver;
  /** HTTPS port (443; a test server's port in tests). */
  port?: number;
  /** Extra trusted CA certificates (PEM), beside Node's store. */
  extraCa?: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
}

interface Where {
  url: string;
  address: string;
  elapsedMs: number;
}

export type PolicyFetch =
  | (Where & { kind: 'fetched'; status: 200; contentType: string; body: string })
  /** `mta-sts.<domain>` has no address (or its look-up failed). */
  | { kind: 'no-address'; url: string; host: string; detail: string; elapsedMs: number }
  /** Any status but 200, redirects included (they are not followed, §3.3). */
  | (Where & { kind: 'http-status'; status: number; location: string | null })
  | (Where & { kind: 'bad-content-type'; contentType: string | null })
  | (Where & { kind: 'too-large'; limit: number })
  /** The TLS handshake or the certificate check failed (untrusted, wrong name, expired). */
  | (Where & { kind: 'tls-failed'; code: string; error: string })
  | (Where & { kind: 'timeout'; timeoutMs: number })
  | (Where & { kind: 'network'; code: string; error: string });

/**
 * One line saying why a fetch did not give a policy (or that it did).
 * @example describeFetch(f) // 'https://mta-sts.example.com/.well-known/mta-sts.txt answered HTTP 404 instead of 200'
 */
export function describeFetch(f: PolicyFetch): string {
  switch (f.kind) {
    case 'fetched':
      return `fetched ${f.url} from ${f.address}`;
    case 'no-address':
      return `${f.host} has no address (${f.detail})`;
    case 'http-status':
      return f.status >= 300 && f.status < 400
        ? `${f.url} answered ${f.status} redirecting to ${f.location ?? '(no Location)'}; senders do not follow redirects (RFC 8461 §3.3)`
        : `${f.url} answered HTTP ${f.status} instead of 200`;
    case 'bad-content-type':
      return `${f.url} was served as ${f.contentType ?? 'no content type'}, not text/plain (RFC 8461 §3.2)`;
    case 'too-large':
      return `${f.url} is larger than ${f.limit} bytes`;
    case 'tls-failed':
      return `the HTTPS certificate of ${new URL(f.url).hostname} (at ${f.address}) is not accepted: ${f.error} (${f.code}); it must be valid for that name and chain to a trusted CA (RFC 8461 §3.3)`;
    case 'timeout':
      return `${f.url} (${f.address}) did not answer within ${f.timeoutMs} ms`;
    case 'network':
      return `cannot connect to ${f.address} for ${f.url}: ${f.error}`;
  }
}

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME|ALTNAME/;

function addressesOf(o: DnsOutcome): string[] {
  return o.kind === 'answer' ? o.records.filter((r) => r.type === o.question.type).map((r) => String(r.data)) : [];
}

/**
 * Fetches the MTA-STS policy of `domain`.
 * @example
 * const f = await fetchMtaStsPolicy('example.com', { resolver });
 * if (f.kind === 'fetched') parseMtaStsPolicy(f.body);
 * else console.log(describeFetch(f));
 */
export async function fetchMtaStsPolicy(domain: string, options: FetchPolicyOptions): Promise<PolicyFetch> {
  options.signal?.throwIfAborted();
  const start = performance.now();
  const host = `mta-sts.${domain}`;
  const port = options.port ?? 443;
  const url = `https://${host}${port === 443 ? '' : `:${port}`}${POLICY_PATH}`;
  const call: CallOptions = { signal: options.signal };
  const [aaaa, a] = await Promise.all([
    options.resolver.resolve({ name: host, type: 'AAAA' }, call),
    options.resolver.resolve({ name: host, type: 'A' }, call),
  ]);
  const addresses = [...addressesOf(aaaa), ...addressesOf(a)];
  const elapsed = () => Math.round(performance.now() - start);
  if (addresses.length === 0) {
    const detail = [a, aaaa].map((o) => `${o.question.type}: ${o.kind}`).join(', ');
    return { kind: 'no-address', url, host, detail, elapsedMs: elapsed() };
  }
  const timeoutMs = options.timeoutMs ?? POLICY_TIMEOUT_MS;
  const signal = deadline(options.signal, timeoutMs);
  let last: PolicyFetch | null = null;
  for (const address of addresses) {
    last = await fetchFrom(address, { host, port, url, signal, timeoutMs, options, elapsed });
    // Another address may answer where this one refused the connection; any other outcome is the server's word.
    if (last.kind !== 'network') return last;
  }
  return last!;
}

interface Attempt {
  host: string;
  port: number;
  url: string;
  signal: AbortSignal;
  timeoutMs: number;
  options: FetchPolicyOptions;
  elapsed: () => number;
}

function fetchFrom(address: string, at: Attempt): Promise<PolicyFetch> {
  const { host, port, url, signal, timeoutMs, options, elapsed } = at;
  const limit = options.maxBytes ?? POLICY_MAX_BYTES;
  const where = (): Where => ({ url, address, elapsedMs: elapsed() });
  return new Promise<PolicyFetch>((resolve, reject) => {
    let settled = false;
    const done = (f: PolicyFetch) => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(f);
    };
    const req = request({
      host: address,
      port,
      path: POLICY_PATH,
      method: 'GET',
      // SNI and the certificate check use the policy host, not the address we connect to.
      servername: host,
      headers: { host: port === 443 ? host : `${host}:${port}`, accept: 'text/plain', 'user-agent': 'mxray' },
      ca: [...rootCertificates, ...(options.extraCa ?? [])],
      agent: false,
      signal,
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (signal.aborted) {
        // The caller's abort is thrown; our own deadline is an outcome.
        if (options.signal?.aborted) {
          settled = true;
          reject(options.signal.reason);
          return;
        }
        done({ ...where(), kind: 'timeout', timeoutMs });
        return;
      }
      const code = err.code ?? 'ERROR';
      if (TLS_CODE.test(code)) done({ ...where(), kind: 'tls-failed', code, error: err.message });
      else done({ ...where(), kind: 'network', code, error: err.message });
    });
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        done({ ...where(), kind: 'http-status', status, location: res.headers.location ?? null });
        return;
      }
      const contentType = res.headers['content-type'] ?? null;
      if (!contentType || !/^text\/plain\s*(;|$)/i.test(contentType)) {
        done({ ...where(), kind: 'bad-content-type', contentType });
        return;
      }
      if (Number(res.headers['content-length'] ?? 0) > limit) {
        done({ ...where(), kind: 'too-large', limit });
        return;
      }
      // A connection cut in the middle of the body (or our own destroy past the size cap) errors the response.
      res.on('error', (err: NodeJS.ErrnoException) =>
        done({ ...where(), kind: 'network', code: err.code ?? 'ERROR', error: err.message }),
      );
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) done({ ...where(), kind: 'too-large', limit });
        else chunks.push(chunk);
      });
      res.on('end', () =>
        done({ ...where(), kind: 'fetched', status: 200, contentType, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.end();
  });
}
