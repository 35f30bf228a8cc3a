/**
 * @module cli/commands/check
 * `mxray check DOMAIN…`: the full audit, as text, JSON, Markdown or a standalone HTML page, with an exit
 * status by `--fail-on` so it drops into CI.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Severity } from '../../check/findings.js';
import { atLeast } from '../../check/findings.js';
import { DEFAULT_BLOCKLISTS } from '../../check/checks/blocklist.js';
import type { CheckReport } from '../../check/run.js';
import { checkDomain } from '../../check/run.js';
import { normalizeName } from '../../dns/name.js';
import { renderCheckHtml, renderCheckMarkdown, renderCheckText } from '../../report/check.js';
import { renderJson } from '../../report/json.js';
import { DEFAULT_TIMEOUTS } from '../../smtp/probe.js';
import type { DnsCliOptions } from '../context.js';
import { addDnsOptions, buildResolver, interruptSignal, parsePort, phaseTimeouts, useColor } from '../context.js';

type Format = 'text' | 'json' | 'markdown' | 'html';

interface CheckCliOptions extends DnsCliOptions {
  smtp: boolean;
  format: Format;
  out?: string;
  failOn: Severity | 'never';
  blocklists?: string | true;
  openRelay?: boolean;
  port?: number;
  helo?: string;
  authPort?: number;
  httpsPort?: number;
  ca?: string[];
}

/**
 * 0: nothing at or above the threshold; 1: something is; 2: the check could not run (the domain's MX question
 * failed temporarily, so there was nothing to audit).
 */
export function checkExitCode(reports: readonly CheckReport[], failOn: Severity | 'never'): number {
  if (failOn !== 'never' && reports.some((r) => r.findings.some((f) => atLeast(f.severity, failOn)))) return 1;
  if (reports.some((r) => r.route.outcome === 'temp-failure')) return 2;
  return 0;
}

export function registerCheck(program: Command): void {
  addDnsOptions(
    program
      .command('check')
      .description(
        'audit how mail reaches a domain: MX, reverse DNS, SMTP/TLS, SPF, DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE',
      )
      .argument('<domain...>', 'one or more mail domains'),
    { smtpTimeout: true },
  )
    .option('--no-smtp', 'do not connect to the mail servers')
    .addOption(
      new Option('--format <format>', 'report format').choices(['text', 'json', 'markdown', 'html']).default('text'),
    )
    .option('--out <file>', 'write the report to a file instead of stdout')
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this')
        .choices(['error', 'warning', 'info', 'never'])
        .default('error'),
    )
    .option(
      '--blocklists [zones]',
      `look MX addresses up on DNS blocklists (comma-separated; default ${DEFAULT_BLOCKLISTS.join(',')})`,
    )
    .option('--open-relay', 'test whether each MX relays for outside domains (RCPT only, never DATA)')
    .addOption(new Option('-p, --port <port>', 'SMTP port (default 25, or the lab’s with --lab)').argParser(parsePort))
    .option('--helo <name>', 'the name to send with EHLO', hostname())
    .addOption(
      new Option('--auth-port <port>', 'port of the authoritative nameservers (default 53)').argParser(parsePort),
    )
    .addOption(new Option('--https-port <port>', 'port for MTA-STS policy fetches (default 443)').argParser(parsePort))
    .addOption(
      new Option('--ca <file>', 'also trust this CA certificate (PEM) for SMTP and HTTPS (repeatable)').argParser(
        (v: string, p: string[] | undefined) => [...(p ?? []), v],
      ),
    )
    .action(async (domains: string[], options: CheckCliOptions) => {
      const names = domains.map((d) => normalizeName(d));
      const extraCa = await Promise.all((options.ca ?? []).map((f) => readFile(f, 'utf8')));
      const blocklists =
        options.blocklists === undefined
          ? null
          : options.blocklists === true
            ? DEFAULT_BLOCKLISTS
            : options.blocklists.split(',').map((z) => normalizeName(z));
      const signal = interruptSignal();
      const { resolver, lab } = await buildResolver(options, { smtp: options.smtp });
      try {
        const reports: CheckReport[] = [];
        for (const domain of names) {
          reports.push(
            await checkDomain(domain, {
              resolver,
              smtp: {
                enabled: options.smtp,
                port: options.port ?? lab?.smtp?.port ?? 25,
                helo: normalizeName(options.helo ?? hostname()),
                timeouts: phaseTimeouts(options, DEFAULT_TIMEOUTS),
              },
              authoritativePort: options.authPort ?? lab?.dns.port ?? 53,
              httpsPort: options.httpsPort ?? 443,
              extraCa,
              blocklists,
              openRelay: options.openRelay ?? false,
              signal,
            }),
          );
        }
        const color = options.out === undefined && useColor();
        const text =
          options.format === 'json'
            ? renderJson(reports.length === 1 ? reports[0] : reports) + '\n'
            : options.format === 'markdown'
              ? renderCheckMarkdown(reports)
              : options.format === 'html'
                ? renderCheckHtml(reports)
                : reports.map((r) => renderCheckText(r, { color })).join('\n');
        if (options.out) await writeFile(options.out, text);
        else process.stdout.write(text);
        process.exitCode = checkExitCode(reports, options.failOn);
      } finally {
        await lab?.close();
      }
    });
}
