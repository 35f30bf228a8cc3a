import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../../../test/helpers/ports.js';
import { isMxError, MxError } from '../../core/errors.js';
import { connectRedis, describeRedisError, parseRedisUrl, redisOptions, REDIS_RECONNECT_ATTEMPTS } from './redis.js';

/** A TCP server on loopback that accepts connections and never says anything (or says `reply`). */
async function mute(reply?: string) {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    if (reply !== undefined) s.on('data', () => s.write(reply));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('parseRedisUrl', () => {
  it('reads host, port, database, credentials and TLS', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380'), {
      host: '127.0.0.1',
      port: 6380,
      db: 0,
      tls: false,
      display: 'redis://127.0.0.1:6380',
    });
    assert.deepEqual(parseRedisUrl('rediss://scanner:s%40cret@[::1]/3'), {
      host: '::1',
      port: 6379,
      db: 3,
      tls: true,
      username: 'scanner',
      password: 's@cret',
      display: 'rediss://scanner@[::1]/3',
    });
    assert.equal(parseRedisUrl('redis://:pw@localhost:1').password, 'pw');
  });

  it('refuses what is not a Redis URL, saying why', () => {
    const cases: [string, RegExp][] = [
      ['127.0.0.1:6379', /scheme is 127\.0\.0\.1, not redis or rediss|write it as redis:\/\/HOST:PORT/],
      ['localhost', /write it as redis:\/\/HOST:PORT/],
      ['http://127.0.0.1:6379', /the scheme is http, not redis or rediss/],
      ['redis://', /it names no host/],
      ['redis://127.0.0.1:99999', /port 99999 is not 1–65535/],
      ['redis://127.0.0.1:0', /port 0 is not 1–65535/],
      ['redis://127.0.0.1/abc', /the path "\/abc" is not a database number/],
      ['redis://127.0.0.1/?db=1', /query or fragment/],
    ];
    for (const [url, why] of cases) {
      assert.throws(
        () => parseRedisUrl(url),
        (err) => isMxError(err, 'MX_INVALID_ARGUMENT') && why.test(err.message),
        url,
      );
    }
  });
});

describe('redisOptions', () => {
  it('bounds reconnecting and times out commands, but not blocking ones', () => {
    const target = parseRedisUrl('redis://127.0.0.1:6379');
    const plain = redisOptions(target, { name: 'x' });
    assert.equal(plain.maxRetriesPerRequest, null);
    assert.equal(typeof plain.commandTimeout, 'number');
    assert.equal(plain.retryStrategy(1), 250);
    assert.equal(plain.retryStrategy(REDIS_RECONNECT_ATTEMPTS), 2000);
    assert.equal(plain.retryStrategy(REDIS_RECONNECT_ATTEMPTS + 1), null);
    const blocking = redisOptions(target, { name: 'x', blocking: true });
    assert.equal(blocking.commandTimeout, undefined);
    assert.equal(typeof blocking.blockingTimeout, 'number');
  });
});

describe('connectRedis', () => {
  it('a refused connection is an MxError naming the URL and the cause, at once', async () => {
    const port = await freePort(); // nothing listens on it
    const started = Date.now();
    await assert.rejects(
      connectRedis(parseRedisUrl(`redis://127.0.0.1:${port}`), { name: 'test' }),
      (err) =>
        isMxError(err, 'MX_INVALID_ARGUMENT') &&
        err.message === `cannot reach Redis at redis://127.0.0.1:${port}: connection refused`,
    );
    assert.ok(Date.now() - started < 2000);
  });

  it('a server that never answers is given up after the deadline', async () => {
    const server = await mute();
    try {
      await assert.rejects(
        connectRedis(parseRedisUrl(`redis://127.0.0.1:${server.port}`), { name: 'test', timeoutMs: 300 }),
        (err) => isMxError(err, 'MX_INVALID_ARGUMENT') && /: no answer within 0\.3 s$/.test(err.message),
      );
    } finally {
      await server.close();
    }
  });

  it('a server that does not speak RESP is named as such', async () => {
    const server = await mute('HTTP/1.1 400 Bad Request\r\n\r\n');
    try {
      await assert.rejects(
        connectRedis(parseRedisUrl(`redis://127.0.0.1:${server.port}`), { name: 'test', timeoutMs: 1000 }),
        (err) =>
          isMxError(err, 'MX_INVALID_ARGUMENT') &&
          /cannot reach Redis at .*: it does not speak the Redis protocol/.test(err.message),
      );
    } finally {
      await server.close();
    }
  });

  it("the caller's abort ends the wait and throws its reason", async () => {
    const server = await mute();
    try {
      const controller = new AbortController();
      const reason = new MxError('MX_INTERRUPTED', 'interrupted by SIGINT');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(
        connectRedis(parseRedisUrl(`redis://127.0.0.1:${server.port}`), {
          name: 'test',
          timeoutMs: 5000,
          signal: controller.signal,
        }),
        (err) => err === reason,
      );
    } finally {
      await server.close();
    }
  });
});

describe('describeRedisError', () => {
  it('puts socket and server errors in words', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(describeRedisError(coded('ECONNREFUSED')), 'connection refused');
    assert.equal(describeRedisError(coded('ENOTFOUND')), 'its host name does not resolve');
    assert.equal(describeRedisError(coded('ETIMEDOUT')), 'the connection timed out');
    assert.match(describeRedisError(new Error('WRONGPASS invalid username-password pair')), /^authentication failed/);
    assert.equal(describeRedisError(new Error('Command timed out')), 'no reply within 15 s');
    assert.equal(describeRedisError(new Error('something else')), 'something else');
  });
});
