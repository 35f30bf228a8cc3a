/**
 * @module cli/commands/worker
 * `mxray worker --queue redis://HOST:PORT`: serves the chunks of every `mxray scan --queue` on that Redis
 * (scan/queue/worker.ts, docs/scan-queue.md) until Ctrl-C or SIGTERM, then finishes the chunks it holds.
 * Thin: argv → options → `runScanWorker` → one log line per event on stderr (JSON lines on stdout with --json).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { parseRedisUrl } from '../../scan/queue/url.js';
import type { WorkerEvent } from '../../scan/queue/worker.js';
import { runScanWorker } from '../../scan/queue/worker.js';
import { createScanPool, createScanResolver } from '../../scan/resolver.js';
import type { AuditSmtpCliOptions, DnsCliOptions } from '../context.js';
import {
  addAuditSmtpOptions,
  addDnsOptions,
  auditSmtp,
  boundHeapGrowth,
  buildResolver,
  interruptSignal,
  parsePositiveNumber,
} from '../context.js';
import { EXIT } from '../exit-codes.js';

interface WorkerCliOptions extends DnsCliOptions, AuditSmtpCliOptions {
  queue: string;
  concurrency: number;
  chunks: number;
  lockTimeout: number;
}

/** One line per event, as a person reads it. */
function describe(e: WorkerEvent): string {
  switch (e.kind) {
    case 'ready':
      return `connected to ${e.redis} as ${e.name}; waiting for scans`;
    case 'serving':
      return `serving scan ${e.scan}`;
    case 'scan-ended':
      return `scan ${e.scan} ended`;
    case 'took':
      return `took chunk ${e.chunk} of scan ${e.scan} (lines ${e.first}–${e.last}, ${e.domains} domains, attempt ${e.attempt})`;
    case 'finished':
      return `finished chunk ${e.chunk} of scan ${e.scan} (${e.domains} domains in ${(e.elapsedMs / 1000).toFixed(1)} s)`;
    case 'dropped':
      return `dropped chunk ${e.chunk} of scan ${e.scan}: ${e.reason}`;
    case 'chunk-failed':
      return `chunk ${e.chunk ?? '?'} of scan ${e.scan} failed: ${e.error}`;
    case 'redis-error':
      return `Redis: ${e.error}`;
  }
}

export function registerWorker(program: Command): void {
  const worker = addDnsOptions(
    program
      .command('worker')
      .description(
        'resolve (or audit) the chunks of distributed scans (mxray scan --queue) queued on a Redis, until stopped',
      ),
    { bulk: true },
  )
    .addOption(
      new Option(
        '--queue <redis-url>',
        'the Redis the scans queue their chunks on (redis://HOST:PORT)',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--concurrency <n>',
        'domains in flight at most over every chunk held, for each kind of work (routes; audits; audits without SMTP)',
      )
        .default(32)
        .argParser(parsePositiveNumber('--concurrency', true)),
    )
    .addOption(
      new Option('--chunks <n>', 'chunks held at once per scan (the next one starts while the last finishes)')
        .default(2)
        .argParser(parsePositiveNumber('--chunks', true)),
    )
    .addOption(
      new Option(
        '--lock-timeout <seconds>',
        'a chunk whose worker stops renewing its lock for this long goes back to the queue (also how often this worker checks)',
      )
        .default(30)
        .argParser(parsePositiveNumber('--lock-timeout', false)),
    );
  addAuditSmtpOptions(worker, 'audits (scan --what check): ').action(
    async (options: WorkerCliOptions, command: Command) => {
      const target = parseRedisUrl(options.queue);
      boundHeapGrowth();
      // One resolver, one cache and one set of UDP sockets for every chunk of every scan this worker serves.
      // Made (and MXRAY_UDP_IO checked) before anything starts, so a wrong setting leaves nothing running.
      const pool = createScanPool(options.tcp === true);
      const stop = interruptSignal();
      // With --lab, its mail servers too, for the audits of scans that connect to them.
      const { resolver: base, lab } = await buildResolver(options, { smtp: true });
      const resolver = createScanResolver({
        servers: base.servers,
        timeoutMs: Math.round(Math.min(options.timeout ?? 2, 10) * 1000),
        attempts: options.tries,
        tcp: options.tcp === true,
        pool,
      });
      const log = (e: WorkerEvent) => {
        if (options.json) process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
        else process.stderr.write(`mxray worker: ${describe(e)}\n`);
      };
      try {
        const outcome = await runScanWorker({
          redis: target,
          resolver,
          concurrency: options.concurrency,
          chunksPerScan: options.chunks,
          lockMs: Math.round(options.lockTimeout * 1000),
          check: {
            ...auditSmtp(options, lab, {
              timeoutGiven: command.getOptionValueSource('timeout') === 'cli',
              hostHelo: false,
            }),
            smtpConcurrency: options.smtpConcurrency,
            authoritativePort: lab?.dns.port ?? 53,
          },
          signal: stop,
          onEvent: log,
        });
        if (outcome.kind === 'lost') {
          process.stderr.write(`mxray worker: ${outcome.reason}\n`);
          process.exitCode = EXIT.tempfail;
          return;
        }
        process.stderr.write('mxray worker: stopped; the chunks it held were finished\n');
        process.exitCode = EXIT.interrupted;
      } finally {
        await pool.close();
        await lab?.close();
      }
    },
  );
}
