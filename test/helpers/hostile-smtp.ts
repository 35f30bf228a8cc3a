/**
 * SMTP servers on loopback that misbehave on purpose, for the probe's and sender's defences.
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';

export type Hostility = 'never-greet' | 'trickle' | 'huge-line' | 'endless-multiline' | 'close-mid-reply' | 'garbage';

export interface HostileServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startHostileSmtp(kind: Hostility, address = '127.0.0.1'): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    switch (kind) {
      case 'never-greet':
        return;
      case 'trickle': {
        const text = '220 slow.example ESMTP a greeting that arrives one byte at a time\r\n';
        let i = 0;
        const t = setInterval(() => {
          if (i < text.length && !socket.destroyed) socket.write(text[i++]!);
        }, 50);
        timers.add(t);
        return;
      }
      case 'huge-line':
        socket.write('220 ' + 'x'.repeat(2 * 1024 * 1024) + '\r\n');
        return;
      case 'endless-multiline': {
        const t = setInterval(() => {
          if (!socket.destroyed) socket.write('220-more and more\r\n'.repeat(50));
        }, 5);
        timers.add(t);
        return;
      }
      case 'close-mid-reply':
        socket.end('220-mx.example ESMTP\r\n220-half');
        return;
      case 'garbage':
        socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return {
    address,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
