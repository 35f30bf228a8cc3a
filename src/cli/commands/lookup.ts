/**
 * @module cli/commands/lookup
 * `mxray lookup NAME [TYPE]`: one question, the reply as the server sent it, like dig.
 */
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { MxError } from '../../core/errors.js';
import { normalizeName } from '../../dns/name.js';
import { reverseName } from '../../dns/reverse.js';
import type { RecordType } from '../../dns/types.js';
import { QUERY_TYPES } from '../../dns/types.js';
import { renderJson } from '../../report/json.js';
import { lookupJson, renderLookupText } from '../../report/lookup.js';
import type { DnsCliOptions } from '../context.js';
import { addDnsOptions, buildResolver, interruptSignal, useColor } from '../context.js';
import { lookupExitCode } from '../exit-codes.js';

interface LookupOptions extends DnsCliOptions {
  recurse: boolean;
}

function parseType(text: string): RecordType {
  const type = text.toUpperCase() as RecordType;
  if (!QUERY_TYPES.includes(type)) {
    throw new MxError(
      'MX_INVALID_ARGUMENT',
      `unknown record type ${JSON.stringify(text)} (known: ${QUERY_TYPES.join(' ')})`,
    );
  }
  return type;
}

export function registerLookup(program: Command): void {
  addDnsOptions(
    program
      .command('lookup')
      .description('ask one DNS question and show the reply, like dig (TYPE defaults to MX; an address asks PTR)')
      .argument('<name>', 'domain name (Unicode is fine) or an IP address for its PTR')
      .argument('[type]', 'record type: MX, A, AAAA, TXT, NS, SOA, CNAME, PTR, SRV, CAA, TLSA, …'),
  )
    .option('--no-recurse', 'clear the RD flag (ask an authoritative server as it is)')
    .action(async (nameArg: string, typeArg: string | undefined, options: LookupOptions) => {
      const ip = isIP(nameArg) !== 0;
      const name = ip ? reverseName(nameArg) : normalizeName(nameArg, { allowRoot: true });
      const type = typeArg ? parseType(typeArg) : ip ? 'PTR' : 'MX';
      const { resolver, lab } = await buildResolver(options, { recursionDesired: options.recurse });
      try {
        const question = { name, type };
        const outcome = await resolver.query(question, { signal: interruptSignal() });
        const result = lookupJson(question, outcome);
        process.stdout.write(
          options.json ? renderJson(result) + '\n' : renderLookupText(result, { color: useColor() }),
        );
        process.exitCode = lookupExitCode(result);
      } finally {
        await lab?.close();
      }
    });
}
