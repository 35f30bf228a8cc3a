/**
 * Free loopback ports: for servers the tests start as child processes (Knot, Unbound, Redis), or as a port
 * nothing listens on (a refused connection).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

/** A port free on both UDP and TCP on 127.0.0.1 right now (the child binds it a moment later; callers retry). */
export async function freePort(): Promise<number> {
  for (;;) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((res, rej) => {
      udp.once('error', rej);
      udp.bind(0, '127.0.0.1', () => res(udp.address().port));
    });
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((res) => {
      tcp.once('error', () => res(false));
      tcp.listen(port, '127.0.0.1', () => res(true));
    });
    await new Promise<void>((res) => udp.close(() => res()));
    if (ok) {
      await new Promise<void>((res) => tcp.close(() => res()));
      return port;
    }
  }
}
