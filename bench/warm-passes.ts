/**
 * What a scan costs once the process is warm: the route scan of the whole world, pass after pass, in one Node.js
 * process, through the library as `mxray scan` runs it (dist/: a UDP socket pool, a resolver, a route lane, the
 * JSON lines written as bytes). Each pass starts from nothing again (new sockets, resolver and lane: every mail
 * host is looked up again); only the process and its compiled code are kept. The first pass pays for what a
 * one-shot `mxray scan` pays for besides the work itself: the JavaScript engine compiling the hot code while it
 * runs. The last pass is the same work with that paid.
 *
 *   node bench/warm-passes.mjs --root REPO --server 127.0.0.1:PORT --concurrency N --in domains.txt --passes P
 *
 * Prints one JSON summary on stdout: {passes: [{ms, domains, bytes}], startMs}. Exits 1 when a pass gives fewer
 * records than domains.
 */
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { createRouteLane as CreateRouteLane } from '../src/scan/lane.js';
import type {
  createScanPool as CreateScanPool,
  createScanResolver as CreateScanResolver,
} from '../src/scan/resolver.js';
import type { scanDomainBatches as ScanDomainBatches } from '../src/scan/scan.js';
import type { renderScanJsonl as RenderScanJsonl, writeScanJsonl as WriteScanJsonl } from '../src/report/scan.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const startMs = performance.now();
const root = arg('root');
const [host, portText] = arg('server').split(':') as [string, string];
const concurrency = Number(arg('concurrency', '200'));
const passes = Math.max(1, Number(arg('passes', '4')));
const out = arg('out', '/dev/null');
const dist = (module: string) => pathToFileURL(join(root, 'dist', module)).href;
const { createScanPool, createScanResolver } = (await import(dist('scan/resolver.js'))) as {
  createScanPool: typeof CreateScanPool;
  createScanResolver: typeof CreateScanResolver;
};
const { createRouteLane } = (await import(dist('scan/lane.js'))) as { createRouteLane: typeof CreateRouteLane };
const { scanDomainBatches } = (await import(dist('scan/scan.js'))) as { scanDomainBatches: typeof ScanDomainBatches };
const { renderScanJsonl, writeScanJsonl } = (await import(dist('report/scan.js'))) as {
  renderScanJsonl: typeof RenderScanJsonl;
  writeScanJsonl: typeof WriteScanJsonl;
};
const lines = readFileSync(arg('in'), 'utf8').split('\n');
while (lines.at(-1) === '') lines.pop();

const results: { ms: number; domains: number; bytes: number }[] = [];
const fd = openSync(out, 'w');
const block = Buffer.allocUnsafe(64 * 1024);
for (let pass = 1; pass <= passes; pass++) {
  const begun = performance.now();
  const pool = createScanPool(false, {});
  const resolver = createScanResolver({ servers: [{ host, port: Number(portText) }], pool });
  const lane = createRouteLane({ resolver });
  let domains = 0;
  let bytes = 0;
  let used = 0;
  const flush = (): void => {
    writeSync(fd, block, 0, used);
    bytes += used;
    used = 0;
  };
  // As the CLI writes: straight into a block as bytes when the record allows, else its JSON text.
  for await (const batch of scanDomainBatches(lines, { resolver, lane, concurrency })) {
    for (const record of batch) {
      domains++;
      let end = writeScanJsonl(record, block, used);
      if (end < 0) {
        flush();
        end = writeScanJsonl(record, block, 0);
      }
      if (end >= 0) used = end;
      else {
        const text = Buffer.from(renderScanJsonl(record));
        writeSync(fd, text);
        bytes += text.length;
      }
    }
  }
  flush();
  await pool.close();
  results.push({ ms: Math.round(performance.now() - begun), domains, bytes });
  if (domains < lines.length) {
    closeSync(fd);
    process.stderr.write(`pass ${pass}: ${domains} records for ${lines.length} domains\n`);
    process.exit(1);
  }
}
closeSync(fd);
process.stdout.write(JSON.stringify({ passes: results, startMs: Math.round(startMs) }) + '\n');
