/**
 * `mxray zone lint` and `mxray zone preset` as a user runs them: the primer's example zones, a fixture with
 * one of each mistake on known lines, a file with a syntax error, and the providers' presets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const MISTAKES = 'test/fixtures/zone-lint/mistakes.example.zone';
const BROKEN = 'test/fixtures/zone-lint/broken.example.zone';

describe('mxray zone lint', () => {
  it("passes the primer's example zones: no error, Microsoft 365's single MX as the one warning", async () => {
    const r = await runCli(['zone', 'lint', 'examples/zones']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'examples/zones/m365.example.zone:13  warning  mx.single  m365.example. has one MX host ' +
        '(m365-example.mail.protection.outlook.com.): no fallback when it is unreachable; Microsoft 365 documents ' +
        'a single MX and keeps its redundancy behind the name\n\n! 8 files, 69 records, 0 errors, 1 warning, 0 info\n',
    );
  });

  it('--json: an array of {file, line, id, severity, subject, message}; exit 1 on errors', async () => {
    const r = await runCli(['zone', 'lint', MISTAKES, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const issues = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.equal(issues.length, 12);
    for (const i of issues) assert.deepEqual(Object.keys(i), ['file', 'line', 'id', 'severity', 'subject', 'message']);
    assert.deepEqual(issues[0], {
      file: MISTAKES,
      line: 10,
      id: 'mx.shared-address',
      severity: 'warning',
      subject: '127.0.40.1',
      message:
        'mail1.mistakes.example. and mail2.mistakes.example. (MX of mistakes.example.) share the address ' +
        '127.0.40.1: one machine down takes both — give each its own',
    });
    assert.deepEqual(
      issues.filter((i) => i.severity === 'error').map((i) => `${String(i.line)} ${String(i.id)}`),
      [
        '16 spf.multiple',
        '16 spf.syntax',
        '17 dmarc.syntax',
        '18 mx.null-with-others',
        '20 mx.ip-literal',
        '22 mx.no-address',
      ],
    );
  });

  it('aligns the text columns, colours severities with FORCE_COLOR; --fail-on never exits 0', async () => {
    const r = await runCli(['zone', 'lint', MISTAKES, '--fail-on', 'never'], { NO_COLOR: '', FORCE_COLOR: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\x1b\[31merror\x1b\[39m/);
    const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    const rows = plain.split('\n').filter((l) => l.startsWith(MISTAKES));
    assert.equal(rows.length, 12);
    const idColumn = rows.map((l) => l.search(/ (mx|spf|dmarc)\./));
    assert.ok(
      idColumn.every((c) => c === idColumn[0]),
      'the id column is aligned',
    );
    assert.match(plain, /✖ 1 file, 21 records, 6 errors, 4 warnings, 2 info\n$/);
  });

  it('a syntax error: reported with its file and line, other files still linted, exit 2', async () => {
    const r = await runCli(['zone', 'lint', BROKEN, MISTAKES, '--json']);
    assert.equal(r.code, 2);
    const issues = JSON.parse(r.stdout) as { file: string; line: number; id: string; message: string }[];
    assert.deepEqual(issues[0], {
      file: BROKEN,
      line: 6,
      id: 'zone.syntax',
      severity: 'error',
      subject: BROKEN,
      message: 'MX record for broken.example: MX needs a preference and an exchange; got 1 field(s)',
    });
    assert.equal(issues.filter((i) => i.file === MISTAKES).length, 12);
  });

  it('a missing file is bad usage (exit 2)', async () => {
    const missing = await runCli(['zone', 'lint', 'no/such.zone']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read no\/such\.zone/);
  });
});

describe('mxray zone preset', () => {
  it('prints zone lines to paste, with the notes as comments', async () => {
    const r = await runCli(['zone', 'preset', 'microsoft-365', '--domain', 'Contoso.com']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.slice(0, 3).every((l) => l.startsWith('; ')));
    assert.deepEqual(
      lines.slice(3).map((l) => l.split(/\s+/).join(' ')),
      [
        'contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.',
        'contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"',
        'autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.',
      ],
    );
  });

  it('--json gives each record with its presentation rdata and whole line; the legacy Google set', async () => {
    const r = await runCli(['zone', 'preset', 'google-workspace-legacy', '--domain', 'workspace.example', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.equal(p.preset, 'google-workspace-legacy');
    assert.equal(p.provider, 'google-workspace');
    assert.equal(p.domain, 'workspace.example');
    assert.deepEqual(
      p.records.filter((x: { type: string }) => x.type === 'MX').map((x: { rdata: string }) => x.rdata),
      [
        '1 aspmx.l.google.com.',
        '5 alt1.aspmx.l.google.com.',
        '5 alt2.aspmx.l.google.com.',
        '10 alt3.aspmx.l.google.com.',
        '10 alt4.aspmx.l.google.com.',
      ],
    );
    assert.deepEqual(p.records[0], {
      name: 'workspace.example',
      type: 'MX',
      ttl: 3600,
      rdata: '1 aspmx.l.google.com.',
      line: 'workspace.example. 3600 IN MX 1 aspmx.l.google.com.',
    });
  });

  it('an unknown preset exits 2', async () => {
    const unknown = await runCli(['zone', 'preset', 'gmail', '--domain', 'example.com']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /unknown preset "gmail" \(known: google-workspace, google-workspace-legacy, microsoft-365\)/,
    );
  });
});
