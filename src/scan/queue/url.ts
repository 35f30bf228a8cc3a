/**
 * @module scan/queue/url
 * The `redis://` URL of `--queue`, checked at the boundary. Apart from the connection code so that checking
 * an option does not load the Redis client.
 */
import { MxError } from '../../core/errors.js';

/** A Redis server as given by `--queue`. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL without its password, for messages. */
  display: string;
}

/**
 * Parses `redis://[user[:password]@]host[:port][/db]` (or `rediss://` for TLS). Throws MxError
 * MX_INVALID_ARGUMENT naming what is wrong.
 * @example parseRedisUrl('redis://127.0.0.1:6380/2') // { host: '127.0.0.1', port: 6380, db: 2, tls: false, … }
 */
export function parseRedisUrl(text: string): RedisTarget {
  const bad = (why: string) =>
    new MxError('MX_INVALID_ARGUMENT', `--queue ${JSON.stringify(text)} is not a Redis URL: ${why}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const port = /^rediss?:\/\/[^/]*:(\d+)(?:\/|$)/.exec(text)?.[1];
    throw bad(
      port !== undefined ? `port ${port} is not 1–65535` : 'write it as redis://HOST:PORT (or rediss:// for TLS)',
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw bad(`the scheme is ${url.protocol.replace(/:$/, '')}, not redis or rediss`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('it names no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${url.port} is not 1–65535`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path))
    throw bad(`the path ${JSON.stringify(url.pathname)} is not a database number`);
  if (url.search !== '' || url.hash !== '') throw bad('it has a query or fragment, which mxray does not use');
  const target: RedisTarget = {
    host,
    port,
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:',
    display: `${url.protocol}//${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${path ? `/${path}` : ''}`,
  };
  if (url.username !== '') target.username = decodeURIComponent(url.username);
  if (url.password !== '') target.password = decodeURIComponent(url.password);
  return target;
}
