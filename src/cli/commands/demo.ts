/**
 * @module cli/commands/demo
 * `mxray demo` (and `npm start`): the primer's example world, served by an in-process lab on loopback and read
 * back through the same resolver and route code a user runs against the internet. Needs no network.
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { seededRng } from '../../core/random.js';
import { createResolver } from '../../dns/resolver.js';
import { formatServer } from '../../dns/servers.js';
import { startLab } from '../../lab/index.js';
import { resolveRoute } from '../../mx/route.js';
import { renderRouteText } from '../../report/route.js';
import { alignColumns, colors } from '../../report/style.js';
import { EXAMPLES_DIR, useColor } from '../context.js';

/** The primer's set-ups, in the order its story tells them. */
const STORY: readonly [domain: string, point: string][] = [
  ['example.com', 'Three MX hosts at 10, 20, 30: the lowest preference is tried first, the others are back-ups.'],
  ['roundrobin.example', 'Three hosts at one preference: a sender shuffles them, spreading the load.'],
  ['workspace.example', 'A Google Workspace-style set at 1, 5, 5, 10, 10.'],
  ['m365.example', 'A Microsoft 365-style single MX at preference 0.'],
  ['nullmx.example', 'A null MX (RFC 7505): the domain says it accepts no mail.'],
  ['implicit.example', 'No MX at all, only an address: the implicit MX of RFC 5321 §5.1.'],
];

const SPREAD_ROUNDS = 300;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("tell the primer's story on the lab's example world (no network needed)")
    .option('--seed <n>', 'seed the shuffles for a reproducible run', (v) => Number(v))
    .action(async (options: { seed?: number }) => {
      const color = useColor();
      const c = colors({ color });
      const started = performance.now();
      const lab = await startLab({ zones: [EXAMPLES_DIR] });
      try {
        const resolver = createResolver({ servers: [lab.dns], timeoutMs: 1000, attempts: 2 });
        const rng = options.seed !== undefined ? seededRng(options.seed) : undefined;
        const out = process.stdout;
        out.write(
          `${c.bold('mxray demo')}: the primer's example world, served by the lab on ${formatServer(lab.dns)} (loopback only)\n`,
        );
        for (const [domain, point] of STORY) {
          out.write(`\n${c.cyan('▸')} ${point}\n`);
          const route = await resolveRoute(domain, { resolver, ...(rng ? { rng } : {}) });
          out.write(renderRouteText(route, { color }));
        }

        const [domain] = STORY[1]!;
        const firsts = new Map<string, number>();
        for (let i = 0; i < SPREAD_ROUNDS; i++) {
          const route = await resolveRoute(domain, { resolver, ...(rng ? { rng } : {}) });
          const first = route.hosts[0]?.exchange ?? '(none)';
          firsts.set(first, (firsts.get(first) ?? 0) + 1);
        }
        out.write(`\n${c.cyan('▸')} ${SPREAD_ROUNDS} routes of ${domain}: how often each host came first\n`);
        const rows = [...firsts.entries()]
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([host, n]) => [host, String(n), `${((100 * n) / SPREAD_ROUNDS).toFixed(1)}%`]);
        out.write(
          alignColumns(rows, [1, 2])
            .map((l) => `  ${l}\n`)
            .join(''),
        );
        const q = resolver.cache;
        out.write(
          `\n${c.dim(`done in ${Math.round(performance.now() - started)} ms; ${q.misses} DNS questions sent, ${q.hits} answered from the cache`)}\n`,
        );
      } finally {
        await lab.close();
      }
    });
}
