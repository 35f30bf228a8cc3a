/**
 * @module cli/commands/propagation
 * `mxray propagation DOMAIN [TYPE]`: one question (MX by default) put to many resolvers and to the domain's
 * authoritative servers at once, the answers grouped and compared (dns/propagation.ts; the `--json` shape is
 * documented in report/propagation.ts).
 *
 * Resolvers: the built-in list of public resolvers, or `--resolvers FILE` (one `ADDRESS[:PORT] [label]` per
 * line, `#` comments). The authoritative servers are found through the first resolver and asked on port 53,
 * or `--auth-port`.
 *
 * Exit: 0 every server that answered agrees with the reference answer; 1 some disagree; 2 bad input;
 * 75 no server gave a usable answer. Timeouts and error rcodes are shown per server and do not change it.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { assertNever, MxError } from '../../core/errors.js';
import { normalizeName } from '../../dns/name.js';
import type { PropagationStatus } from '../../dns/propagation.js';
import { PUBLIC_RESOLVERS, checkPropagation, loadResolverList } from '../../dns/propagation.js';
import type { RecordType } from '../../dns/types.js';
import { QUERY_TYPES } from '../../dns/types.js';
import { renderJson } from '../../report/json.js';
import { propagationJson, renderPropagationText } from '../../report/propagation.js';
import { interruptSignal, parsePort, parsePositiveNumber, useColor } from '../context.js';
import { EXIT } from '../exit-codes.js';

interface PropagationCliOptions {
  resolvers?: string;
  authPort?: number;
  authoritative: boolean;
  timeout: number;
  tries: number;
  tcp?: boolean;
  ipv6?: boolean;
  json?: boolean;
}

/** The exit status of a comparison (see the module comment). */
export function propagationExitCode(status: PropagationStatus): number {
  switch (status) {
    case 'consistent':
      return EXIT.ok;
    case 'disagreement':
      return EXIT.negative;
    case 'no-answer':
      return EXIT.tempfail;
    default:
      return assertNever(status);
  }
}

export function registerPropagation(program: Command): void {
  program
    .command('propagation')
    .description("compare a record across many resolvers and the domain's authoritative servers (TYPE defaults to MX)")
    .argument('<domain>', 'the name to ask about (Unicode is fine)')
    .argument('[type]', 'record type: MX, A, AAAA, TXT, NS, …')
    .option('--resolvers <file>', 'resolvers to ask: one "ADDRESS[:PORT] [label]" per line (default: public resolvers)')
    .addOption(new Option('--auth-port <port>', 'port of the authoritative servers (default 53)').argParser(parsePort))
    .option('--no-authoritative', 'do not ask the authoritative servers; compare with the most common answer')
    .addOption(
      new Option('--timeout <seconds>', 'time for one attempt at one server')
        .default(2)
        .argParser(parsePositiveNumber('--timeout', false)),
    )
    .addOption(
      new Option('--tries <n>', 'attempts per server').default(2).argParser(parsePositiveNumber('--tries', true)),
    )
    .option('--tcp', 'use TCP only')
    .option('--ipv6', 'also ask nameservers at their IPv6 addresses')
    .option('--json', 'print JSON (the shape is in src/report/propagation.ts)')
    .action(async (domain: string, typeArg: string | undefined, options: PropagationCliOptions) => {
      const name = normalizeName(domain);
      const type = (typeArg ?? 'MX').toUpperCase() as RecordType;
      if (!QUERY_TYPES.includes(type))
        throw new MxError(
          'MX_INVALID_ARGUMENT',
          `unknown record type ${JSON.stringify(typeArg)} (known: ${QUERY_TYPES.join(' ')})`,
        );
      const resolvers = options.resolvers ? await loadResolverList(options.resolvers) : PUBLIC_RESOLVERS;
      const result = await checkPropagation(
        { name, type },
        {
          resolvers,
          authoritative: options.authoritative,
          ...(options.authPort !== undefined ? { authPort: options.authPort } : {}),
          timeoutMs: Math.round(Math.min(options.timeout, 30) * 1000),
          attempts: options.tries,
          tcp: options.tcp ?? false,
          ipv6: options.ipv6 ?? false,
          signal: interruptSignal(),
        },
      );
      const json = propagationJson(result);
      process.stdout.write(options.json ? renderJson(json) + '\n' : renderPropagationText(json, { color: useColor() }));
      process.exitCode = propagationExitCode(result.status);
    });
}
