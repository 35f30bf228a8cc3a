/**
 * @module cli/commands/zone
 * `mxray zone lint FILE…` and `mxray zone preset NAME --domain D`: zone files checked offline (RFC 1035 §5
 * master files; the rules are listed in zone/lint.ts and docs/zone-lint.md), and providers' records to paste.
 *
 * `zone lint --json` prints an array of `{file, line, id, severity, subject, message}` (report/zone-lint.ts).
 * Exit: 0 clean; 1 an issue at or above `--fail-on` (error by default; `never` turns it off); 2 a file that
 * cannot be read or parsed (a syntax error, reported with its line), or bad usage.
 *
 * `zone preset --json` prints `{preset, provider, name, domain, records: [{name, type, ttl, rdata, line}],
 * notes}`. Exit 0, or 2 for an unknown preset or a bad domain.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Severity } from '../../check/findings.js';
import { atLeast } from '../../check/findings.js';
import { MxError } from '../../core/errors.js';
import { renderJson } from '../../report/json.js';
import { presetJson, renderPresetText, renderZoneLintText, zoneLintJson } from '../../report/zone-lint.js';
import type { LintFileResult } from '../../zone/lint.js';
import { lintZoneText } from '../../zone/lint.js';
import { PRESET_NAMES, preset } from '../../zone/presets.js';
import { useColor } from '../context.js';
import { EXIT } from '../exit-codes.js';

interface LintCliOptions {
  json?: boolean;
  failOn: Severity | 'never';
  origin?: string;
}

interface PresetCliOptions {
  json?: boolean;
  domain: string;
}

/** A directory stands for its `*.zone` files, as for `--lab`. */
async function expandFiles(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(input)).isDirectory();
    } catch (err) {
      throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${input}: ${(err as Error).message}`, { cause: err });
    }
    if (!isDirectory) {
      files.push(input);
      continue;
    }
    const names = (await readdir(input)).filter((n) => n.endsWith('.zone')).sort();
    if (names.length === 0) throw new MxError('MX_INVALID_ARGUMENT', `no *.zone files in ${input}`);
    files.push(...names.map((n) => join(input, n)));
  }
  return files;
}

/** The exit status of a lint run (see the module comment). */
export function lintExitCode(results: readonly LintFileResult[], failOn: Severity | 'never'): number {
  if (results.some((r) => r.unreadable)) return EXIT.usage;
  if (failOn === 'never') return EXIT.ok;
  return results.some((r) => r.issues.some((i) => atLeast(i.severity, failOn))) ? EXIT.negative : EXIT.ok;
}

export function registerZone(program: Command): void {
  const zone = program.command('zone').description('work with zone files offline: lint them, or get provider records');

  zone
    .command('lint')
    .description('check zone files for MX, SPF and DMARC mistakes, with file and line (no network)')
    .argument('<files...>', 'zone files (RFC 1035 master format) or directories of *.zone files')
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when an issue is at least this severe')
        .choices(['error', 'warning', 'info', 'never'])
        .default('error'),
    )
    .option('--origin <name>', 'the origin for a file with no $ORIGIN and no absolute SOA owner')
    .option('--json', 'print a JSON array of {file, line, id, severity, subject, message}')
    .action(async (inputs: string[], options: LintCliOptions) => {
      const files = await expandFiles(inputs);
      const results: LintFileResult[] = [];
      for (const file of files) {
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          throw new MxError('MX_INVALID_ARGUMENT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
        }
        results.push(lintZoneText(text, { file, ...(options.origin === undefined ? {} : { origin: options.origin }) }));
      }
      process.stdout.write(
        options.json ? renderJson(zoneLintJson(results)) + '\n' : renderZoneLintText(results, { color: useColor() }),
      );
      process.exitCode = lintExitCode(results, options.failOn);
    });

  zone
    .command('preset')
    .description('print the DNS records a mail provider documents, as zone lines to paste')
    .argument('<preset>', PRESET_NAMES.join(' | '))
    .requiredOption('--domain <domain>', 'the mail domain (Unicode is fine)')
    .option('--json', 'print JSON: {preset, provider, name, domain, records, notes}')
    .action((name: string, options: PresetCliOptions) => {
      const p = preset(name, options.domain);
      process.stdout.write(
        options.json ? renderJson(presetJson(p)) + '\n' : renderPresetText(p, { color: useColor() }),
      );
      process.exitCode = EXIT.ok;
    });
}
