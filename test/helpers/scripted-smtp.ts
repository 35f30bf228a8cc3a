/**
 * A minimal SMTP server on loopback whose replies come from a table, for failover rules that a
 * well-behaved server never shows (a 451 to RCPT, a 554 after DATA).
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';

export interface SmtpScript {
  greeting?: string;
  ehlo?: string;
  helo?: string;
  mail?: string;
  rcpt?: string;
  data?: string;
  /** The reply after the message's final dot. */
  dot?: string;
}

export interface ScriptedSmtp {
  address: string;
  port: number;
  /** Command lines received, in order. */
  commands: string[];
  close(): Promise<void>;
}

export async function startScriptedSmtp(script: SmtpScript, address = '127.0.0.1', port = 0): Promise<ScriptedSmtp> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let inData = false;
    let buf = '';
    socket.write(`${script.greeting ?? '220 scripted.test ESMTP'}\r\n`);
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write(`${script.dot ?? '250 2.0.0 queued'}\r\n`);
          }
          continue;
        }
        commands.push(line);
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        const reply =
          verb === 'EHLO'
            ? (script.ehlo ?? '250-scripted.test\r\n250 8BITMIME')
            : verb === 'HELO'
              ? (script.helo ?? '250 scripted.test')
              : verb === 'MAIL'
                ? (script.mail ?? '250 2.1.0 ok')
                : verb === 'RCPT'
                  ? (script.rcpt ?? '250 2.1.5 ok')
                  : verb === 'DATA'
                    ? (script.data ?? '354 go ahead')
                    : verb === 'QUIT'
                      ? '221 bye'
                      : '500 5.5.1 unknown command';
        socket.write(`${reply}\r\n`);
        if (verb === 'DATA' && reply.startsWith('354')) inData = true;
        if (verb === 'QUIT') socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return {
    address,
    port: (server.address() as AddressInfo).port,
    commands,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
