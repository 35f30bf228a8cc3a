/**
 * @module cli/commands/lab
 * `mxray lab`: the lab's authoritative DNS server in the foreground, on loopback only.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { relative } from 'node:path';
import { isMxError } from '../../core/errors.js';
import { formatServer, parseServer } from '../../dns/servers.js';
import type { Lab } from '../../lab/index.js';
import { startLab } from '../../lab/index.js';
import { alignColumns, colors } from '../../report/style.js';
import { EXAMPLES_DIR, useColor } from '../context.js';

interface LabOptions {
  zone?: string[];
  dns?: string;
}

/** Where the lab listens when `--dns` is not given; a free port is taken when it is busy. */
export const DEFAULT_LAB_DNS = '127.0.0.1:5300';

async function start(zones: string[], dns: string, explicit: boolean): Promise<Lab> {
  const { host, port } = parseServer(dns, 53, { allowPortZero: true });
  try {
    return await startLab({ zones, dns: { host, port } });
  } catch (err) {
    if (explicit || !isMxError(err, 'MX_LAB_BIND')) throw err;
    return startLab({ zones, dns: { host, port: 0 } });
  }
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('serve zone files from an authoritative DNS server on loopback (default: the example world)')
    .addOption(
      new Option('-z, --zone <file-or-dir>', 'a BIND zone file, or a directory of *.zone files (repeatable)').argParser(
        (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
      ),
    )
    .option(
      '--dns <address:port>',
      `where to listen (loopback only; default ${DEFAULT_LAB_DNS}, or a free port if busy)`,
    )
    .action(async (options: LabOptions) => {
      const lab = await start(
        options.zone ?? [EXAMPLES_DIR],
        options.dns ?? DEFAULT_LAB_DNS,
        options.dns !== undefined,
      );
      const c = colors({ color: useColor() });
      const where = formatServer(lab.dns);
      const rows = lab.zones.map((z) => [
        z.origin,
        `${z.records.length} records`,
        z.file ? relative(process.cwd(), z.file) : '-',
      ]);
      process.stdout.write(
        [
          `${c.green('●')} mxray lab: authoritative DNS on ${c.bold(where)} (udp, tcp), ${lab.zones.length} zone(s)`,
          ...alignColumns(rows).map((l) => `  ${l}`),
          '',
          `try:  mxray route ${lab.zones[0]?.origin ?? 'example.com'} --server ${where}`,
          `      dig @${lab.dns.host} -p ${lab.dns.port} ${lab.zones[0]?.origin ?? 'example.com'} MX`,
          'Ctrl-C stops the lab.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await lab.close();
      process.stdout.write('lab stopped\n');
    });
}
