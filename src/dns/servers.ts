/**
 * @module dns/servers
 * DNS servers as users write them (`HOST`, `HOST:PORT`, `IPv6`, `[IPv6]:PORT`) and as /etc/resolv.conf
 * lists them (resolv.conf(5): `nameserver ADDRESS`, at most three used by the system's stub, all kept here).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { MxError } from '../core/errors.js';
import type { DnsServer } from './types.js';

/**
 * Parses `127.0.0.1`, `127.0.0.1:5300`, `::1`, `[::1]:5300` or `localhost:5300` (port 53 by default).
 * Host names other than `localhost` are returned as given, for the caller to look up.
 * @example parseServer('[::1]:5353') // { host: '::1', port: 5353 }
 */
export function parseServer(input: string, defaultPort = 53, options: { allowPortZero?: boolean } = {}): DnsServer {
  const text = input.trim();
  const bad = (why: string) => new MxError('MX_INVALID_SERVER', `invalid server ${JSON.stringify(input)}: ${why}`);
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (isIP(host) !== 6) throw bad('only IPv6 addresses go in brackets');
  } else if (text.indexOf(':') !== text.lastIndexOf(':') && isIP(text) === 6) {
    // Only text with two colons or more can be an IPv6 address: Node's test for one takes 8 ms the first time
    // (it builds its pattern), which every command given HOST:PORT would pay for nothing.
    host = text;
  } else {
    const parts = text.split(':');
    if (parts.length > 2) throw bad('write an IPv6 address with a port as [ADDRESS]:PORT');
    host = parts[0]!;
    portText = parts[1];
  }
  if (host === '') throw bad('the host is empty');
  if (isIP(host) === 0 && !/^[a-z0-9.-]+$/i.test(host)) throw bad('the host is neither an address nor a name');
  if (host.toLowerCase() === 'localhost') host = '127.0.0.1';
  let port = defaultPort;
  if (portText !== undefined) {
    port = Number(portText);
    const min = options.allowPortZero ? 0 : 1;
    if (!/^\d+$/.test(portText) || port < min || port > 65535) {
      throw bad(`port ${JSON.stringify(portText)} is not ${min}–65535`);
    }
  }
  return { host: host.replace(/%.*$/, ''), port };
}

/** `host:port`, with IPv6 in brackets. */
export function formatServer(server: DnsServer): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** The `nameserver` entries of a resolv.conf text. */
export function parseResolvConf(text: string): DnsServer[] {
  const out: DnsServer[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, '');
    if (isIP(host) !== 0) out.push({ host, port: 53 });
  }
  return out;
}

/** The system's servers, from /etc/resolv.conf. Throws MX_DNS_NO_SERVERS when there are none. */
export async function systemServers(path = '/etc/resolv.conf'): Promise<DnsServer[]> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MxError('MX_DNS_NO_SERVERS', `cannot read ${path}: ${(err as Error).message}; give --server`, {
      cause: err,
    });
  }
  const servers = parseResolvConf(text);
  if (servers.length === 0) throw new MxError('MX_DNS_NO_SERVERS', `${path} lists no nameserver; give --server`);
  return servers;
}
