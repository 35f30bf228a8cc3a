/**
 * @module cli/commands/route
 * `mxray route DOMAIN`: the order in which a sending server would try the domain's mail hosts.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveRoute } from '../../mx/route.js';
import { renderJson } from '../../report/json.js';
import { renderRouteText } from '../../report/route.js';
import type { DnsCliOptions } from '../context.js';
import { addDnsOptions, buildResolver, interruptSignal, parseSeed, useColor } from '../context.js';
import { routeExitCode } from '../exit-codes.js';

interface RouteCliOptions extends DnsCliOptions {
  as?: string[];
  seed?: number;
}

export function registerRoute(program: Command): void {
  addDnsOptions(
    program
      .command('route')
      .description("show a domain's mail route: the hosts a sending server tries, in order (RFC 5321 §5.1)")
      .argument('<domain>', 'the mail domain (the part after @; Unicode is fine)'),
  )
    .addOption(
      new Option(
        '--as <name-or-address>',
        'the sender is known by this name or address: prune MX at and below it (repeatable)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .addOption(
      new Option('--seed <n>', 'seed the shuffle of equal preferences for a reproducible order').argParser(parseSeed),
    )
    .action(async (domain: string, options: RouteCliOptions) => {
      const { resolver, lab } = await buildResolver(options);
      try {
        const route = await resolveRoute(domain, {
          resolver,
          signal: interruptSignal(),
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.as ? { as: options.as } : {}),
        });
        process.stdout.write(options.json ? renderJson(route) + '\n' : renderRouteText(route, { color: useColor() }));
        process.exitCode = routeExitCode(route.outcome);
      } finally {
        await lab?.close();
      }
    });
}
