/**
 * @module cli/commands/probe
 * `mxray probe TARGET | --domain D`: greeting, EHLO, STARTTLS and certificate of each mail server address.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { MxError } from '../../core/errors.js';
import { normalizeName } from '../../dns/name.js';
import { resolveRoute } from '../../mx/route.js';
import { renderJson } from '../../report/json.js';
import { renderProbeText } from '../../report/probe.js';
import { DEFAULT_TIMEOUTS } from '../../smtp/probe.js';
import type { ProbeTarget } from '../../smtp/probe-targets.js';
import { judgeReachability, probeTargets, targetsOfRoute } from '../../smtp/probe-targets.js';
import type { DnsCliOptions } from '../context.js';
import { addDnsOptions, buildResolver, interruptSignal, parsePort, phaseTimeouts, useColor } from '../context.js';
import { EXIT } from '../exit-codes.js';

interface ProbeCliOptions extends DnsCliOptions {
  domain?: string;
  port?: number;
  helo?: string;
  starttls: boolean;
  transcript?: boolean;
  concurrency: number;
}

export function registerProbe(program: Command): void {
  addDnsOptions(
    program
      .command('probe')
      .description('probe SMTP servers: greeting, EHLO, STARTTLS, certificate (never sends mail)')
      .argument('[target]', 'an IP address or a host name (each of its addresses)'),
    { smtpTimeout: true },
  )
    .option('-d, --domain <domain>', "probe every address of the domain's mail route")
    .addOption(
      new Option('-p, --port <port>', 'SMTP port (default 25, or the lab’s port with --lab)').argParser(parsePort),
    )
    .option('--helo <name>', 'the name to send with EHLO', hostname())
    .option('--no-starttls', 'do not upgrade to TLS')
    .option('--transcript', 'show each conversation line by line')
    .addOption(new Option('--concurrency <n>', 'addresses probed at once').default(8).argParser(Number))
    .action(async (target: string | undefined, options: ProbeCliOptions) => {
      if ((target === undefined) === (options.domain === undefined)) {
        throw new MxError('MX_INVALID_ARGUMENT', 'give a TARGET or --domain DOMAIN (one of them)');
      }
      const helo = normalizeName(options.helo ?? hostname());
      const signal = interruptSignal();
      const { resolver, lab } = await buildResolver(options, { smtp: true });
      try {
        const port = options.port ?? lab?.smtp?.port ?? 25;
        let targets: ProbeTarget[];
        if (options.domain !== undefined) {
          const route = await resolveRoute(options.domain, { resolver, signal });
          if (route.outcome !== 'deliverable') {
            throw new MxError(
              'MX_INVALID_ARGUMENT',
              `${route.domain} has no mail route to probe: ${route.outcome}${route.reason ? ` (${route.reason})` : ''}`,
            );
          }
          targets = targetsOfRoute(route.hosts);
        } else if (isIP(target!) !== 0) {
          targets = [{ host: null, address: target! }];
        } else {
          const name = normalizeName(target!);
          const [a, aaaa] = await Promise.all([
            resolver.resolve({ name, type: 'A' }, { signal }),
            resolver.resolve({ name, type: 'AAAA' }, { signal }),
          ]);
          const addresses = [a, aaaa].flatMap((o) => (o.kind === 'answer' ? o.records.map((r) => String(r.data)) : []));
          if (addresses.length === 0)
            throw new MxError('MX_INVALID_ARGUMENT', `${name} has no A or AAAA record to probe`);
          targets = addresses.map((address) => ({ host: name, address }));
        }
        const timeouts = phaseTimeouts(options, DEFAULT_TIMEOUTS);
        const results = await probeTargets(
          targets,
          { port, helo, starttls: options.starttls, timeouts, signal },
          options.concurrency,
        );
        const verdict = judgeReachability(results, port);
        if (options.json) {
          process.stdout.write(renderJson(results.length === 1 ? results[0] : results) + '\n');
        } else {
          process.stdout.write(
            renderProbeText(results, verdict, { color: useColor(), transcript: options.transcript ?? false }),
          );
        }
        process.exitCode = results.every((r) => r.error === null)
          ? EXIT.ok
          : results.some((r) => r.error === null)
            ? EXIT.negative
            : EXIT.tempfail;
      } finally {
        await lab?.close();
      }
    });
}
