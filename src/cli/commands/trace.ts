/**
 * @module cli/commands/trace
 * `mxray trace NAME [TYPE]`: iterative resolution from the root, like `dig +trace` (dns/trace.ts; the
 * `--json` shape is documented in report/trace.ts).
 *
 * Without `--root` it starts at the built-in root hints (the real root servers, port 53). `--root
 * ADDR[:PORT]` (repeatable) starts elsewhere — a lab acting as the root — and `--port` sets the port of every
 * server learned on the way, so a test world of several loopback addresses on one port can be traced.
 *
 * Exit: 0 an answer; 1 NXDOMAIN or NODATA; 2 bad input; 3 the delegation is broken (lame server, loop, an
 * error rcode, the step limit); 75 no reply from any server of a zone.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { isIP } from 'node:net';
import { assertNever, MxError } from '../../core/errors.js';
import { normalizeName } from '../../dns/name.js';
import { parseServer } from '../../dns/servers.js';
import type { TraceOutcomeKind } from '../../dns/trace.js';
import { traceName } from '../../dns/trace.js';
import type { RecordType } from '../../dns/types.js';
import { QUERY_TYPES } from '../../dns/types.js';
import { renderJson } from '../../report/json.js';
import { renderTraceText, traceJson } from '../../report/trace.js';
import { interruptSignal, parsePort, parsePositiveNumber, useColor } from '../context.js';
import { EXIT } from '../exit-codes.js';

interface TraceCliOptions {
  root?: string[];
  port?: number;
  timeout: number;
  maxSteps: number;
  ipv6?: boolean;
  tcp?: boolean;
  json?: boolean;
}

/** The exit status of a trace (see the module comment). */
export function traceExitCode(kind: TraceOutcomeKind): number {
  switch (kind) {
    case 'answer':
      return EXIT.ok;
    case 'nxdomain':
    case 'nodata':
      return EXIT.negative;
    case 'lame':
    case 'loop':
    case 'step-limit':
    case 'server-error':
      return EXIT.serverError;
    case 'unreachable':
      return EXIT.tempfail;
    default:
      return assertNever(kind);
  }
}

function parseType(text: string): RecordType {
  const type = text.toUpperCase() as RecordType;
  if (!QUERY_TYPES.includes(type))
    throw new MxError(
      'MX_INVALID_ARGUMENT',
      `unknown record type ${JSON.stringify(text)} (known: ${QUERY_TYPES.join(' ')})`,
    );
  return type;
}

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description(
      'resolve a name iteratively from the root, step by step, like dig +trace (TYPE defaults to MX, as for lookup)',
    )
    .argument('<name>', 'the domain name to trace (Unicode is fine)')
    .argument('[type]', 'record type: A, AAAA, MX, TXT, NS, …')
    .addOption(
      new Option(
        '--root <addr[:port]>',
        'start at this server instead of the root hints (repeatable; an address)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .addOption(new Option('--port <port>', 'the port of every server asked (default 53)').argParser(parsePort))
    .addOption(
      new Option('--timeout <seconds>', 'time for one step')
        .default(2)
        .argParser(parsePositiveNumber('--timeout', false)),
    )
    .addOption(
      new Option('--max-steps <n>', 'most questions sent in all')
        .default(30)
        .argParser(parsePositiveNumber('--max-steps', true)),
    )
    .option('--ipv6', 'also use IPv6 glue addresses')
    .option('--tcp', 'use TCP only')
    .option('--json', 'print JSON (the shape is in src/report/trace.ts)')
    .action(async (nameArg: string, typeArg: string | undefined, options: TraceCliOptions) => {
      const name = normalizeName(nameArg, { allowRoot: true });
      const type = typeArg ? parseType(typeArg) : 'MX';
      const roots = (options.root ?? []).map((text) => {
        const server = parseServer(text, 0);
        if (isIP(server.host) === 0)
          throw new MxError('MX_INVALID_ARGUMENT', `--root ${JSON.stringify(text)}: give an address, not a name`);
        return server.port === 0 ? { host: server.host } : server;
      });
      const result = await traceName(
        { name, type },
        {
          ...(roots.length > 0 ? { roots } : {}),
          ...(options.port !== undefined ? { port: options.port } : {}),
          timeoutMs: Math.round(Math.min(options.timeout, 30) * 1000),
          maxSteps: options.maxSteps,
          ipv6: options.ipv6 ?? false,
          tcp: options.tcp ?? false,
          signal: interruptSignal(),
        },
      );
      const json = traceJson(result);
      process.stdout.write(options.json ? renderJson(json) + '\n' : renderTraceText(json, { color: useColor() }));
      process.exitCode = traceExitCode(result.kind);
    });
}
