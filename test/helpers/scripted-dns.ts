/**
 * A DNS server on loopback whose every reply is scripted by the test: it can send broken, spoofed or
 * oversized replies, stay silent, or answer correctly, over UDP and TCP on one port.
 */
import packet from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export type Reply = Buffer | null;
export type Script = (
  query: DecodedPacket,
  transport: 'udp' | 'tcp',
  raw: Buffer,
  client: { address: string; port: number },
) => Reply[] | Promise<Reply[]>;

export interface ScriptedDns {
  host: string;
  port: number;
  queries: { name: string; type: string; transport: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

/** Builds a well-formed reply to `query` with the given answers (and optional overrides). */
export function reply(
  query: DecodedPacket,
  answers: Answer[],
  over: {
    rcode?: string;
    flags?: number;
    id?: number;
    question?: { name: string; type: string };
    authorities?: Answer[];
  } = {},
): Buffer {
  const q = query.questions![0]!;
  const rcodes: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
  const flags = (over.flags ?? packet.AUTHORITATIVE_ANSWER) | (rcodes[over.rcode ?? 'NOERROR'] ?? 0);
  return packet.encode({
    type: 'response',
    id: over.id ?? query.id ?? 0,
    flags,
    questions: [over.question ? ({ ...over.question, class: 'IN' } as never) : q],
    answers,
    authorities: over.authorities ?? [],
  });
}

export async function startScriptedDns(script: Script): Promise<ScriptedDns> {
  // UDP picks a free port and TCP must get the same one; another program may hold it on TCP (an outgoing
  // connection's ephemeral port), so a clash is retried on a new port, and nothing is left open.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(script);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
    }
  }
}

async function startOnce(script: Script): Promise<ScriptedDns> {
  const queries: ScriptedDns['queries'] = [];
  // A large receive buffer (the kernel caps it at net.core.rmem_max): pools send bursts of many queries.
  const udp = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const note = (q: DecodedPacket, transport: 'udp' | 'tcp') =>
    queries.push({ name: q.questions?.[0]?.name ?? '', type: q.questions?.[0]?.type ?? '', transport });
  udp.on('message', (msg, rinfo) => {
    void (async () => {
      const q = packet.decode(msg);
      note(q, 'udp');
      for (const r of await script(q, 'udp', msg, rinfo)) if (r) udp.send(r, rinfo.port, rinfo.address);
    })();
  });
  const sockets = new Set<Socket>();
  const tcp = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void (async () => {
          const q = packet.decode(msg);
          note(q, 'tcp');
          for (const r of await script(q, 'tcp', msg, {
            address: sock.remoteAddress ?? '',
            port: sock.remotePort ?? 0,
          })) {
            if (!r) continue;
            const head = Buffer.alloc(2);
            head.writeUInt16BE(r.length);
            sock.write(Buffer.concat([head, r]));
          }
        })();
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    queries,
    close: async () => {
      udp.close();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/**
 * Runs `script` (an ES module, with `PORT` replaced by the scripted server's port) in a child process that must
 * exit by itself: it resolves `h7.example.test` A through a pool it never closes and prints the outcome. The
 * child runs asynchronously, since the scripted server lives in this process and must keep answering.
 */
export async function runToExit(
  script: string,
  port: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script.replaceAll('PORT', String(port))],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}
