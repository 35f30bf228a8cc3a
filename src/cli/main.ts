#!/usr/bin/env node
/**
 * @module cli/main
 * The `mxray` command: argv → options → library call → renderer → exit code. Errors with a code become one
 * line on stderr and exit status 2; anything else is a bug and shows its stack.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isMxError } from '../core/errors.js';
import { EXIT } from './exit-codes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Register = (program: Command) => void;

/**
 * The commands in the order `--help` lists them, each loaded only when needed: a command's module pulls in its
 * libraries (SMTP, TLS, Redis…), and a run of one command should not pay for the others in start-up time and
 * memory (a scan of millions of domains lives in the memory left over).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  lookup: async () => (await import('./commands/lookup.js')).registerLookup,
  route: async () => (await import('./commands/route.js')).registerRoute,
  probe: async () => (await import('./commands/probe.js')).registerProbe,
  send: async () => (await import('./commands/send.js')).registerSend,
  check: async () => (await import('./commands/check.js')).registerCheck,
  trace: async () => (await import('./commands/trace.js')).registerTrace,
  propagation: async () => (await import('./commands/propagation.js')).registerPropagation,
  zone: async () => (await import('./commands/zone.js')).registerZone,
  scan: async () => (await import('./commands/scan.js')).registerScan,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
  lab: async () => (await import('./commands/lab.js')).registerLab,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
};

/**
 * The `mxray` program. With `only`, just that command is registered (what a run of it needs); with null, none
 * (`--version`); without, all of them (for `--help`, and for suggestions after a mistyped command).
 */
export async function buildProgram(only?: string | null): Promise<Command> {
  const program = new Command('mxray')
    .description('See how mail reaches a domain: MX records, mail routes, and a lab on loopback.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only === null ? [] : only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
  return program;
}

/** The command named on the command line (the first argument that is not an option), if any. */
function commandOf(argv: string[]): string | undefined {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
}

/** Whether the command line only asks for the version (which needs no command loaded: 0.2 s instead of 0.6). */
function versionOnly(argv: string[]): boolean {
  const args = argv.slice(2);
  return args.length === 1 && (args[0] === '-V' || args[0] === '--version');
}

async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(versionOnly(argv) ? null : commandOf(argv))).parseAsync(argv);
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
