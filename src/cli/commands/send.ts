/**
 * @module cli/commands/send
 * `mxray send --to RCPT --from SENDER`: one test message down the recipient domain's MX list with failover.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { MxError } from '../../core/errors.js';
import { seededRng } from '../../core/random.js';
import { normalizeName } from '../../dns/name.js';
import { renderJson } from '../../report/json.js';
import { renderRouteText } from '../../report/route.js';
import { renderSendText } from '../../report/send.js';
import type { Delivery, QuitAfter } from '../../smtp/deliver.js';
import { parseHeader, parseMailbox } from '../../smtp/message.js';
import { sendMessage } from '../../smtp/send-message.js';
import { DEFAULT_TIMEOUTS } from '../../smtp/probe.js';
import type { DnsCliOptions } from '../context.js';
import {
  addDnsOptions,
  buildResolver,
  interruptSignal,
  parsePort,
  parseSeed,
  phaseTimeouts,
  useColor,
} from '../context.js';
import { EXIT } from '../exit-codes.js';

interface SendCliOptions extends DnsCliOptions {
  to: string;
  from: string;
  subject: string;
  body?: string;
  bodyFile?: string;
  header?: string[];
  port?: number;
  helo?: string;
  requireTls?: boolean;
  quitAfter?: QuitAfter;
  seed?: number;
}

const QUIT_AFTER: readonly QuitAfter[] = ['connect', 'banner', 'ehlo', 'tls', 'mail', 'rcpt'];

/** Exit status of a delivery: 0 delivered (or stopped where asked), 69 permanent, 75 temporary. */
export function sendExitCode(d: Delivery): number {
  if (d.delivered || (d.quitAfter !== null && d.acceptedBy !== null)) return EXIT.ok;
  return d.permanent ? EXIT.unavailable : EXIT.tempfail;
}

export function registerSend(program: Command): void {
  addDnsOptions(
    program.command('send').description('deliver a test message down the MX list with failover, like swaks'),
    { smtpTimeout: true },
  )
    .requiredOption('--to <address>', 'the recipient; its domain’s mail route is walked')
    .requiredOption('--from <address>', 'the envelope sender and From: ("" for the null sender <>)')
    .option('--subject <text>', 'the Subject:', 'mxray test message')
    .option('--body <text>', 'the body text')
    .option('--body-file <file>', 'read the body from a file')
    .addOption(
      new Option('--header <"Name: value">', 'an extra header (repeatable)').argParser(
        (v: string, p: string[] | undefined) => [...(p ?? []), v],
      ),
    )
    .addOption(
      new Option('-p, --port <port>', 'SMTP port (default 25, or the lab’s port with --lab)').argParser(parsePort),
    )
    .option('--helo <name>', 'the name to send with EHLO', hostname())
    .option('--require-tls', 'fail a host that does not offer STARTTLS')
    .addOption(new Option('--seed <n>', 'seed the shuffle of equal preferences').argParser(parseSeed))
    .addOption(new Option('--quit-after <phase>', 'stop after this phase and send no message').choices(QUIT_AFTER))
    .action(async (options: SendCliOptions) => {
      const to = parseMailbox(options.to, '--to');
      const from = parseMailbox(options.from, '--from', true);
      const headers = (options.header ?? []).map(parseHeader);
      if (options.body !== undefined && options.bodyFile !== undefined)
        throw new MxError('MX_INVALID_ARGUMENT', 'give --body or --body-file, not both');
      const body =
        options.bodyFile !== undefined
          ? await readFile(options.bodyFile, 'utf8')
          : (options.body ?? `This is a test message sent by mxray to ${to.address}.\n`);
      const helo = normalizeName(options.helo ?? hostname());
      const signal = interruptSignal();
      const { resolver, lab } = await buildResolver(options, { smtp: true });
      try {
        const { route, delivery } = await sendMessage({
          resolver,
          from,
          to,
          subject: options.subject,
          body,
          headers,
          helo,
          port: options.port ?? lab?.smtp?.port ?? 25,
          requireTls: options.requireTls ?? false,
          quitAfter: options.quitAfter ?? null,
          timeouts: phaseTimeouts(options, DEFAULT_TIMEOUTS),
          signal,
          ...(options.seed !== undefined ? { rng: seededRng(options.seed) } : {}),
        });
        if (options.json) {
          process.stdout.write(renderJson({ ...delivery, route }) + '\n');
        } else {
          const color = useColor();
          process.stdout.write(renderRouteText(route, { color }) + '\n' + renderSendText(delivery, { color }));
        }
        process.exitCode = sendExitCode(delivery);
      } finally {
        await lab?.close();
      }
    });
}
