#!/usr/bin/env node
/**
 * @module cli/main
 * The `mxray` command: argv → options → library call → renderer → exit code. Errors with a code become one
 * line on stderr and exit status 2; anything else is a bug and shows its stack.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isMxError } from '../core/errors.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerLab } from './commands/lab.js';
import { registerLookup } from './commands/lookup.js';
import { registerProbe } from './commands/probe.js';
import { registerPropagation } from './commands/propagation.js';
import { registerRoute } from './commands/route.js';
import { registerScan } from './commands/scan.js';
import { registerSend } from './commands/send.js';
import { registerTrace } from './commands/trace.js';
import { registerWorker } from './commands/worker.js';
import { registerZone } from './commands/zone.js';
import { EXIT } from './exit-codes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('mxray')
    .description('See how mail reaches a domain: MX records, mail routes, and a lab on loopback.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerLookup(program);
  registerRoute(program);
  registerProbe(program);
  registerSend(program);
  registerCheck(program);
  registerTrace(program);
  registerPropagation(program);
  registerZone(program);
  registerScan(program);
  registerWorker(program);
  registerLab(program);
  registerDemo(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (isMxError(err, 'MX_INTERRUPTED')) {
      process.stderr.write(`mxray: ${err.message}\n`);
      process.exitCode = EXIT.interrupted;
      return;
    }
    if (isMxError(err)) {
      process.stderr.write(`mxray: error: ${err.message} [${err.code}]\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    throw err;
  }
}

await main(process.argv);
