/**
 * @module cli/commands/demo
 * `mxray demo` (and `npm start`): the primer's story told with real traffic on the lab's example world —
 * DNS from the lab's authoritative server, SMTP to its receivers, all on loopback, through the same route and
 * delivery code a user runs against the internet. Needs no network.
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { seededRng } from '../../core/random.js';
import type { Rng } from '../../core/random.js';
import { createResolver } from '../../dns/resolver.js';
import type { Resolver } from '../../dns/resolver.js';
import { formatServer } from '../../dns/servers.js';
import type { Lab } from '../../lab/index.js';
import { startLab } from '../../lab/index.js';
import { resolveRoute } from '../../mx/route.js';
import { renderRouteText } from '../../report/route.js';
import type { Colors } from '../../report/style.js';
import { alignColumns, colors } from '../../report/style.js';
import type { Delivery } from '../../smtp/deliver.js';
import { parseMailbox } from '../../smtp/message.js';
import { sendMessage } from '../../smtp/send-message.js';
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
const SPREAD_CONCURRENCY = 25;
const TIMEOUTS = { connectMs: 2000, greetingMs: 2000, commandMs: 2000, tlsMs: 2000 };

interface Ctx {
  lab: Lab;
  resolver: Resolver;
  rng: Rng | undefined;
  c: Colors;
  out: (text: string) => void;
}

async function send(ctx: Ctx, to: string): Promise<Delivery> {
  const { delivery } = await sendMessage({
    resolver: ctx.resolver,
    from: parseMailbox('demo@sender.example', '--from'),
    to: parseMailbox(to, '--to'),
    subject: 'mxray demo',
    body: 'A test message from the mxray demo.\n',
    helo: 'sender.example',
    port: ctx.lab.smtp!.port,
    timeouts: TIMEOUTS,
    ...(ctx.rng ? { rng: ctx.rng } : {}),
  });
  return delivery;
}

function describeDelivery(d: Delivery, c: Colors): string {
  const lines = d.attempts.map((a, i) => {
    const mark = a.result === 'accepted' ? c.green('✔') : c.yellow('↷');
    const reply = a.reply ? `${a.reply.code} ${a.reply.text}` : (a.error ?? '');
    return `  ${mark} attempt ${i + 1}: ${a.exchange} [${a.address}] ${a.result} at ${a.phase}: ${reply}`;
  });
  const mark = d.delivered ? c.green('✔') : d.permanent ? c.red('✖') : c.yellow('⚠');
  return [...lines, `  ${mark} ${d.verdict}`].join('\n') + '\n';
}

async function story(ctx: Ctx): Promise<void> {
  const { c, out } = ctx;
  for (const [domain, point] of STORY) {
    out(`\n${c.cyan('▸')} ${point}\n`);
    const route = await resolveRoute(domain, { resolver: ctx.resolver, ...(ctx.rng ? { rng: ctx.rng } : {}) });
    out(renderRouteText(route, { color: c.isColorSupported }));
  }

  out(`\n${c.cyan('▸')} A test message to postmaster@example.com goes to the best MX, mail1:\n`);
  out(describeDelivery(await send(ctx, 'postmaster@example.com'), c));

  await ctx.lab.smtp!.setFault('mail1.example.com', 'down');
  out(`\n${c.cyan('▸')} mail1 goes down; the same message fails over to mail2 (preference 20):\n`);
  out(describeDelivery(await send(ctx, 'postmaster@example.com'), c));
  await ctx.lab.smtp!.setFault('mail1.example.com', 'none');

  out(`\n${c.cyan('▸')} A message to the null-MX domain is refused without any connection:\n`);
  out(describeDelivery(await send(ctx, 'postmaster@nullmx.example'), c));

  out(`\n${c.cyan('▸')} ${SPREAD_ROUNDS} messages to roundrobin.example: the share each equal-preference server got\n`);
  const counts = new Map<string, number>();
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < SPREAD_ROUNDS) {
      next++;
      const d = await send(ctx, `user${next}@roundrobin.example`);
      if (d.acceptedBy) counts.set(d.acceptedBy.exchange, (counts.get(d.acceptedBy.exchange) ?? 0) + 1);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: SPREAD_CONCURRENCY }, worker));
  const received = (host: string) => ctx.lab.smtp!.receiverFor(host)?.messages.length ?? 0;
  const rows = [...counts.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([host, n]) => [
      host,
      String(n),
      `${((100 * n) / SPREAD_ROUNDS).toFixed(1)}%`,
      `(${received(host)} in its mailbox)`,
    ]);
  out(
    alignColumns(rows, [1, 2])
      .map((l) => `  ${l}\n`)
      .join(''),
  );
  if (failed > 0) out(`  ${c.red('✖')} ${failed} message(s) were not delivered\n`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      "tell the primer's story with real DNS and SMTP traffic on the lab's example world (no network needed)",
    )
    .option('--seed <n>', 'seed the shuffles for a reproducible run', (v) => Number(v))
    .action(async (options: { seed?: number }) => {
      const c = colors({ color: useColor() });
      const started = performance.now();
      const lab = await startLab({ zones: [EXAMPLES_DIR], smtp: true });
      try {
        const resolver = createResolver({ servers: [lab.dns], timeoutMs: 1000, attempts: 2 });
        const out = (text: string) => process.stdout.write(text);
        out(
          `${c.bold('mxray demo')}: the primer's example world, served by the lab on loopback only\n` +
            `  DNS ${formatServer(lab.dns)}, ${lab.smtp!.receivers.length} SMTP receivers on port ${lab.smtp!.port}\n`,
        );
        await story({ lab, resolver, rng: options.seed !== undefined ? seededRng(options.seed) : undefined, c, out });
        const messages = lab.smtp!.messages().length;
        out(
          `\n${c.dim(`done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${resolver.cache.misses} DNS questions sent, ${resolver.cache.hits} answered from the cache, ${messages} messages accepted`)}\n`,
        );
      } finally {
        await lab.close();
      }
    });
}
