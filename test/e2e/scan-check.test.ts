/**
 * `mxray scan --what check`: the audit of `mxray check` for every domain of a list, against the lab (its DNS
 * and its SMTP receivers on loopback), as JSONL and CSV, with the summary's top findings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ScanCheckRecord } from '../../src/scan/check.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mxray-scan-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, 'domains.txt');
writeFileSync(input, ['example.com', 'nullmx.example', '# a comment', 'bad..name', 'workspace.example', ''].join('\n'));
const LAB = ['--lab', 'examples/zones', '--helo', 'client.example.net'];

describe('mxray scan --what check', () => {
  it('audits every domain like mxray check, SMTP included, with the top findings in the summary', async () => {
    const out = join(dir, 'check.jsonl');
    const r = await runCli(
      ['scan', input, ...LAB, '--what', 'check', '--smtp-concurrency', '1', '--out', out],
      {},
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanCheckRecord);
    assert.deepEqual(
      records.map((x) => x.line).sort((a, b) => a - b),
      [1, 2, 4, 5],
    );
    const by = new Map(records.map((x) => [x.input, x]));

    const example = by.get('example.com')!;
    assert.equal(example.error, null);
    assert.equal(example.route?.outcome, 'deliverable');
    assert.deepEqual(
      example.route?.hosts.map((h) => h.exchange),
      ['mail1.example.com', 'mail2.example.com', 'mail3.example.com'],
    );
    // The lab's receivers were probed: their certificates are the lab's own, so not trusted.
    const smtp = example.sections.smtp as { probes?: unknown[] } | undefined;
    assert.ok(smtp, JSON.stringify(Object.keys(example.sections)));
    assert.ok(
      example.findings.some((f) => f.id === 'smtp.cert-untrusted'),
      JSON.stringify(example.findings),
    );
    assert.equal(example.summary.error + example.summary.warning + example.summary.info, example.findings.length);

    assert.equal(by.get('nullmx.example')!.route?.outcome, 'null-mx');
    assert.ok(!by.get('nullmx.example')!.findings.some((f) => f.id.startsWith('smtp.')));

    const bad = by.get('bad..name')!;
    assert.equal(bad.route, null);
    assert.match(bad.error ?? '', /label 2 is empty/);

    assert.match(r.stderr, /scanned 4 lines/);
    assert.match(r.stderr, /top findings\n(.*\n)*\s+⚠ smtp\.cert-untrusted\s+2\n/);
    assert.match(r.stderr, /hosted-mail providers\n\s+Google Workspace\s+1/);
  });

  it('writes one CSV row per domain with the counts by severity and the finding ids', async () => {
    const r = await runCli(['scan', input, ...LAB, '--what', 'check', '--no-smtp', '--format', 'csv'], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows[0], 'domain,outcome,errors,warnings,info,findings,error');
    const example = rows.find((row) => row.startsWith('example.com,'))!;
    assert.match(example, /^example\.com,deliverable,\d+,\d+,\d+,[a-z.;-]*dnssec\.unsigned[a-z.;-]*,$/);
    assert.ok(!example.includes('smtp.'), 'no SMTP findings with --no-smtp');
    assert.ok(rows.some((row) => row.startsWith('bad..name,,,,,,')));
    assert.equal(rows.length, 5);
  });

  it('refuses check options without --what check, and --what check with --queue', async () => {
    const a = await runCli(['scan', input, ...LAB]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--helo applies only with --what check/);
    const b = await runCli(['scan', input, '--what', 'check', '--queue', 'redis://127.0.0.1:1']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--what check runs on this machine; --queue distributes routes only/);
  });
});
