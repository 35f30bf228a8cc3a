/**
 * @module dns/transport/datagram
 * A connected UDP socket for the pool, in one of two kinds. `native`: the batched I/O of native/udp_batch.c
 * (Linux), which sends a burst with one sendmmsg(2) and reads up to 64 replies with one recvmmsg(2) and one call
 * into JavaScript. `dgram`: node:dgram, one system call and one callback per datagram, everywhere else and
 * whenever the native module is not built. Both deliver the same datagrams to the same handlers; the pool's
 * tests run over each.
 */
import type { Socket } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** How the pool's sockets do their I/O: `auto` takes `native` when it is built and the server is an IP address. */
export type DatagramIo = 'auto' | 'native' | 'dgram';

export interface DatagramHandlers {
  /** A datagram; `foreign` ("address:port") when it came from another source than the server, else null. */
  message(msg: Buffer, foreign: string | null): void;
  error(err: Error): void;
  /** The socket is connected and takes datagrams (at once for the native kind). */
  connect(): void;
  /**
   * A batch of datagrams was handed to `message` and the promise jobs they started have run (native kind only):
   * the queries those made can be sent now, while the server works and the next batch is read, instead of after
   * every waiting datagram is read.
   */
  afterBatch(): void;
}

export interface DatagramSocket {
  readonly kind: 'native' | 'dgram';
  /** Adds a datagram to the next `flush` (node:dgram sends it at once). */
  queue(bytes: Buffer): void;
  /** Sends what was queued. */
  flush(): void;
  ref(): void;
  unref(): void;
  close(done: () => void): void;
}

/** The native module's functions (native/udp_batch.c). */
export interface NativeUdp {
  open(
    host: string,
    port: number,
    family: number,
    receiveBufferBytes: number,
    onBatch: (data: Buffer, lengths: Int32Array, sources: (string | undefined)[] | undefined) => void,
    onError: (code: string, syscall: string) => void,
    afterBatch: () => void,
    onWritable: () => void,
  ): object;
  /** Writes the datagrams sent (from the first) into result[0], and the error that stopped them, if any, into result[1]. */
  send(handle: object, data: Buffer, offsets: Uint32Array, count: number, result: Int32Array): void;
  setRef(handle: object, on: boolean): void;
  close(handle: object): void;
}

/** The native module, or why it is not there. Built by `npm run build:native` (part of `npm run build`). */
const native: { udp: NativeUdp | null; reason: string } = (() => {
  if (process.platform !== 'linux') return { udp: null, reason: 'batched datagram I/O is built on Linux only' };
  try {
    // Three levels up from dist/dns/transport and from src/dns/transport alike.
    const udp = createRequire(import.meta.url)('../../../native/build/Release/mxray_udp.node') as NativeUdp;
    return { udp, reason: '' };
  } catch (err) {
    return { udp: null, reason: `the native module is not built (${(err as Error).message.split('\n')[0]})` };
  }
})();

/** Whether the batched native I/O can be used here, and if not, why. */
export function nativeDatagramIo(): { available: boolean; reason: string } {
  return { available: native.udp !== null, reason: native.reason };
}

/**
 * A UDP socket connected to `host`:`port`. Throws at once for what the socket layer refuses (a port out of
 * range, or `io: 'native'` where the native module is not available).
 */
export function openDatagram(
  host: string,
  port: number,
  handlers: DatagramHandlers,
  options: { io: DatagramIo; receiveBufferBytes: number },
): DatagramSocket {
  const family = isIP(host);
  if (options.io === 'native' && !native.udp) throw new Error(`io 'native' is not available: ${native.reason}`);
  // An IPv6 address with a zone (fe80::1%eth0) is left to node:dgram, which resolves the zone's interface.
  if (options.io !== 'dgram' && native.udp && family !== 0 && !host.includes('%')) {
    return new NativeDatagram(native.udp, host, port, family, handlers, options.receiveBufferBytes);
  }
  return new DgramDatagram(host, port, family, handlers, options.receiveBufferBytes);
}

class DgramDatagram implements DatagramSocket {
  readonly kind = 'dgram' as const;
  private readonly socket: Socket;

  constructor(host: string, port: number, family: number, handlers: DatagramHandlers, receiveBufferBytes: number) {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: receiveBufferBytes });
    socket.on('message', (msg, rinfo) =>
      handlers.message(msg, rinfo.address === host && rinfo.port === port ? null : `${rinfo.address}:${rinfo.port}`),
    );
    socket.on('error', (err: Error) => handlers.error(err));
    try {
      socket.connect(port, host, () => handlers.connect());
    } catch (err) {
      socket.close();
      throw err;
    }
    this.socket = socket;
  }

  queue(bytes: Buffer): void {
    // No completion callback: it costs a tick per datagram, and a connected socket reports what goes wrong (a
    // refused port, a lost route) as an 'error' event. A send refused on the spot is left to the pool's resend.
    this.socket.send(bytes);
  }

  flush(): void {}

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  close(done: () => void): void {
    try {
      this.socket.close(done);
    } catch {
      done(); // already closed
    }
  }
}

class NativeDatagram implements DatagramSocket {
  readonly kind = 'native' as const;
  private readonly handle: object;
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  /** Where a burst is packed; grown as needed and reused (sendmmsg copies the datagrams before it returns). */
  private packed = Buffer.allocUnsafe(64 * 1024);
  private offsets = new Uint32Array(1025);
  private readonly result = new Int32Array(2);
  /** A send found the socket's buffer full: the rest of `out` waits for room (onWritable). */
  private blocked = false;
  private closed = false;

  constructor(
    private readonly udp: NativeUdp,
    host: string,
    port: number,
    family: number,
    private readonly handlers: DatagramHandlers,
    receiveBufferBytes: number,
  ) {
    this.handle = udp.open(
      host,
      port,
      family,
      receiveBufferBytes,
      (data, lengths, sources) => {
        // Every datagram of the batch is handed over even if a handler throws; the first error is thrown after.
        let failure: { error: unknown } | null = null;
        let at = 0;
        for (let i = 0; i < lengths.length && !this.closed; i++) {
          const n = lengths[i]!;
          const len = n < 0 ? ~n : n;
          try {
            handlers.message(data.subarray(at, at + len), n < 0 ? (sources?.[i] ?? 'another source') : null);
          } catch (error) {
            failure ??= { error };
          }
          at += len;
        }
        if (failure) throw failure.error;
      },
      (code, syscall) => handlers.error(systemError(code, syscall)),
      () => handlers.afterBatch(),
      () => {
        this.blocked = false;
        this.flush();
      },
    );
    // Connected already (connect(2) on a datagram socket only sets the peer); told once the caller has the socket.
    queueMicrotask(() => {
      if (!this.closed) handlers.connect();
    });
  }

  queue(bytes: Buffer): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  flush(): void {
    const count = this.out.length;
    if (count === 0 || this.closed || this.blocked) return;
    if (this.packed.length < this.outBytes)
      this.packed = Buffer.allocUnsafe(Math.max(this.outBytes, 2 * this.packed.length));
    if (this.offsets.length < count + 1) this.offsets = new Uint32Array(Math.max(count + 1, 2 * this.offsets.length));
    const packed = this.packed;
    const offsets = this.offsets;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const bytes = this.out[i]!;
      offsets[i] = at;
      at += bytes.copy(packed, at);
    }
    offsets[count] = at;
    const result = this.result;
    this.udp.send(this.handle, packed, offsets, count, result);
    const sent = result[0]!;
    const error = result[1]!;
    if (sent === count || error !== 0) {
      // All sent, or an error (a refused port…), which fails the socket's queries: nothing is kept back.
      this.out.length = 0;
      this.outBytes = 0;
    } else {
      // The buffer filled: what was not sent goes out, in order, when the socket has room again.
      this.out.splice(0, sent);
      this.outBytes = at - offsets[sent]!;
      this.blocked = true;
    }
    if (error !== 0) this.handlers.error(systemError(getSystemErrorName(error), 'sendmmsg'));
  }

  ref(): void {
    if (!this.closed) this.udp.setRef(this.handle, true);
  }

  unref(): void {
    if (!this.closed) this.udp.setRef(this.handle, false);
  }

  close(done: () => void): void {
    if (!this.closed) {
      this.closed = true;
      this.udp.close(this.handle);
    }
    setImmediate(done);
  }
}

/** An error shaped as Node's own for a failed system call ("recvmmsg ECONNREFUSED", with code and syscall). */
function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
}
