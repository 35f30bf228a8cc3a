/**
 * An HTTPS server on loopback serving a different site per host name, for MTA-STS policy fetches (RFC 8461
 * §3.3): each site has its own certificate (chosen by SNI) and its own scripted response, so one server can
 * serve a good policy, a 404, a redirect, a certificate no CA vouches for, and a policy that misses an MX.
 * Listens on the given loopback address, port 0 unless told otherwise; records every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { KeyPair } from '../../src/lab/certificate.js';

export interface SiteResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Site {
  /** The certificate presented for this host name (SNI). */
  cert: KeyPair;
  /** What `GET /.well-known/mta-sts.txt` (or any path) returns. */
  response: SiteResponse;
}

export interface HttpsServerOptions {
  /** A loopback address to listen on. */
  host: string;
  port?: number;
  /** Sites by host name (lowercase). */
  sites: Record<string, Site>;
  /** The certificate for unknown names (and clients without SNI). */
  fallback: KeyPair;
}

export interface HttpsServer {
  host: string;
  port: number;
  requests: { host: string; path: string; servername: string | null }[];
  close(): Promise<void>;
}

export async function startHttpsServer(options: HttpsServerOptions): Promise<HttpsServer> {
  if (!options.host.startsWith('127.') && options.host !== '::1') throw new Error('loopback addresses only');
  const contexts = new Map<string, SecureContext>();
  for (const [name, site] of Object.entries(options.sites)) {
    contexts.set(name, createSecureContext({ key: site.cert.key, cert: site.cert.cert }));
  }
  const requests: HttpsServer['requests'] = [];
  const server = createServer(
    {
      key: options.fallback.key,
      cert: options.fallback.cert,
      SNICallback: (servername, cb) => cb(null, contexts.get(servername.toLowerCase())),
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const servername = (req.socket as { servername?: string | false }).servername || null;
      requests.push({ host, path: req.url ?? '', servername });
      const site = options.sites[host];
      const response = site?.response ?? { status: 404, body: 'no such site\n' };
      res.writeHead(response.status ?? 200, { 'content-type': 'text/plain', ...response.headers });
      res.end(response.body ?? '');
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: options.host,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
