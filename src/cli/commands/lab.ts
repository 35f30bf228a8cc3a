/**
 * @module cli/commands/lab
 * `mxray lab`: the lab in the foreground — the authoritative DNS server and an SMTP receiver for every
 * exchange, on loopback only — with faults set at start and changed from stdin while it runs.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { relative } from 'node:path';
import { createInterface } from 'node:readline';
import { isMxError } from '../../core/errors.js';
import { formatServer, parseServer } from '../../dns/servers.js';
import type { Fault } from '../../lab/faults.js';
import { FAULTS, parseFault, parseFaultAssignment } from '../../lab/faults.js';
import type { Lab, LabOptions } from '../../lab/index.js';
import { startLab } from '../../lab/index.js';
import type { ReceivedMessage } from '../../lab/smtp-receiver.js';
import type { Colors } from '../../report/style.js';
import { alignColumns, colors } from '../../report/style.js';
import { EXAMPLES_DIR, parsePort, useColor } from '../context.js';

interface LabCliOptions {
  zone?: string[];
  dns?: string;
  smtp: boolean;
  smtpPort?: number;
  fault?: string[];
  spool?: string;
  slowMs: number;
}

/** Where the lab's DNS listens when `--dns` is not given; a free port is taken when it is busy. */
export const DEFAULT_LAB_DNS = '127.0.0.1:5300';

async function start(options: LabCliOptions, onMessage: (m: ReceivedMessage) => void): Promise<Lab> {
  const { host, port } = parseServer(options.dns ?? DEFAULT_LAB_DNS, 53, { allowPortZero: true });
  const faults: Record<string, Fault> = {};
  for (const f of options.fault ?? []) {
    const { host: h, fault } = parseFaultAssignment(f);
    faults[h] = fault;
  }
  const labOptions = (dnsPort: number): LabOptions => ({
    zones: options.zone ?? [EXAMPLES_DIR],
    dns: { host, port: dnsPort },
    // Each nameserver of the zones answers on its own loopback address too, so `trace` and `check` find them.
    nameservers: true,
    smtp: options.smtp
      ? {
          faults,
          slowMs: options.slowMs,
          onMessage,
          ...(options.smtpPort !== undefined ? { port: options.smtpPort } : {}),
          ...(options.spool ? { spoolDir: options.spool } : {}),
        }
      : false,
  });
  try {
    return await startLab(labOptions(port));
  } catch (err) {
    if (options.dns !== undefined || !isMxError(err, 'MX_LAB_BIND') || !/\/udp|\/tcp/.test(err.message)) throw err;
    return startLab(labOptions(0));
  }
}

function describeLab(lab: Lab, c: Colors): string {
  const where = formatServer(lab.dns);
  const lines = [
    `${c.green('●')} mxray lab: authoritative DNS on ${c.bold(where)} (udp, tcp), ${lab.zones.length} zone(s)`,
  ];
  const zoneRows = lab.zones.map((z) => [
    z.origin,
    `${z.records.length} records`,
    z.file ? relative(process.cwd(), z.file) : '-',
  ]);
  lines.push(...alignColumns(zoneRows).map((l) => `  ${l}`));
  if (lab.nameserverAddresses.length > 0) {
    lines.push(c.dim(`  also answering on the nameservers' addresses: ${lab.nameserverAddresses.join(', ')}`));
  }
  const smtp = lab.smtp;
  if (smtp) {
    lines.push(
      '',
      `${c.green('●')} SMTP receivers on port ${c.bold(String(smtp.port))} (STARTTLS with a generated certificate)`,
    );
    const rows = smtp.receivers.map((r) => [
      r.address,
      r.hosts.join(', '),
      r.fault === 'none' ? '' : c.yellow(`[${r.fault}]`),
    ]);
    lines.push(...alignColumns(rows).map((l) => `  ${l}`));
    if (smtp.unserved.length > 0)
      lines.push(c.dim(`  no address in the zones, no receiver: ${smtp.unserved.join(', ')}`));
  }
  if (lab.remapped.length > 0) {
    lines.push('', 'addresses in the zones, served on loopback instead:');
    const rows = lab.remapped.map((m) => [
      m.original,
      '→',
      m.loopback ?? c.yellow('dropped (loopback has only ::1)'),
      m.names.join(', '),
    ]);
    lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  }
  const domain =
    lab.zones.find((z) => z.records.some((r) => r.type === 'MX' && r.name === z.origin))?.origin ??
    lab.zones[0]?.origin;
  lines.push('', `try:  mxray route ${domain} --server ${where}`);
  if (smtp) {
    lines.push(
      `      mxray send --to postmaster@${domain} --from you@example.net --server ${where} --port ${smtp.port}`,
    );
    lines.push(`stdin: fault HOST ${FAULTS.join('|')} · status · messages · help · quit`);
  }
  lines.push('Ctrl-C stops the lab.', '');
  return lines.join('\n');
}

/** Runs one stdin command against the lab; returns the text to print and whether to stop. */
export async function runLabCommand(lab: Lab, line: string, c: Colors): Promise<{ text: string; stop: boolean }> {
  const [verb = '', ...args] = line.trim().split(/\s+/);
  try {
    switch (verb.toLowerCase()) {
      case '':
        return { text: '', stop: false };
      case 'fault': {
        if (!lab.smtp) return { text: 'the lab runs without SMTP (--no-smtp)', stop: false };
        const [host, kind] = args;
        if (!host || !kind) return { text: `usage: fault HOST ${FAULTS.join('|')}`, stop: false };
        const fault = parseFault(kind);
        await lab.smtp.setFault(host, fault);
        const r = lab.smtp.receiverFor(host)!;
        return { text: `${r.hosts.join(', ')} [${r.address}] is now ${fault}`, stop: false };
      }
      case 'status': {
        if (!lab.smtp) return { text: 'no SMTP receivers', stop: false };
        const rows = lab.smtp.receivers.map((r) => [
          r.address,
          r.hosts.join(', '),
          r.fault,
          `${r.messages.length} message(s)`,
        ]);
        return { text: alignColumns(rows).join('\n'), stop: false };
      }
      case 'messages': {
        const all = lab.smtp?.messages() ?? [];
        if (all.length === 0) return { text: 'no messages yet', stop: false };
        return { text: all.map((m) => describeMessage(m, c)).join('\n'), stop: false };
      }
      case 'help':
        return {
          text: [
            `fault HOST KIND   set a receiver's behaviour (${FAULTS.join(', ')}); HOST is an exchange or address`,
            'status            receivers, their faults and message counts',
            'messages          every message accepted so far',
            'quit              stop the lab',
          ].join('\n'),
          stop: false,
        };
      case 'quit':
      case 'exit':
        return { text: '', stop: true };
      default:
        return { text: `unknown command ${JSON.stringify(verb)} (try help)`, stop: false };
    }
  } catch (err) {
    if (isMxError(err)) return { text: c.red(err.message), stop: false };
    throw err;
  }
}

function describeMessage(m: ReceivedMessage, c: Colors): string {
  return `${c.green('←')} ${m.queueId} from <${m.from}> to ${m.to.map((t) => `<${t}>`).join(', ')} at ${m.hosts[0]} [${m.address}]${m.tls ? ' (TLS)' : ''}, ${m.data.length} octets`;
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('run the lab: zone files served by an authoritative DNS server and SMTP receivers, on loopback only')
    .addOption(
      new Option(
        '-z, --zone <file-or-dir>',
        'a BIND zone file, or a directory of *.zone files (repeatable; default: the example world)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .option(
      '--dns <address:port>',
      `where DNS listens (loopback only; default ${DEFAULT_LAB_DNS}, or a free port if busy)`,
    )
    .option('--no-smtp', 'serve DNS only')
    .addOption(
      new Option(
        '--smtp-port <port>',
        'the receivers’ port (default 25 when it can be bound, else a free port; 0 for a free port)',
      ).argParser((v: string) => (v === '0' ? 0 : parsePort(v))),
    )
    .addOption(
      new Option('--fault <host=kind>', `a receiver's behaviour at start: ${FAULTS.join('|')} (repeatable)`).argParser(
        (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
      ),
    )
    .option('--spool <dir>', 'also write accepted messages as .eml files here')
    .addOption(new Option('--slow-ms <ms>', 'the delay of the slow fault').default(2000).argParser(Number))
    .action(async (options: LabCliOptions) => {
      const c = colors({ color: useColor() });
      const lab = await start(options, (m) => process.stdout.write(`${describeMessage(m, c)}\n`));
      process.stdout.write(describeLab(lab, c));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (!process.stdin.isTTY && process.stdin.readableEnded) return;
        const rl = createInterface({ input: process.stdin, terminal: false });
        // Commands run one after another, in the order they were typed.
        let queue = Promise.resolve();
        rl.on('line', (line) => {
          queue = queue.then(async () => {
            const { text, stop } = await runLabCommand(lab, line, c);
            if (text) process.stdout.write(`${text}\n`);
            if (stop) {
              rl.close();
              resolve();
            }
          });
        });
      });
      await lab.close();
      process.stdout.write('lab stopped\n');
      process.exit(0);
    });
}
