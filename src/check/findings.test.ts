import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { FINDINGS, atLeast, finding } from './findings.js';

it('documents every finding id in docs/findings.md, with its severity', async () => {
  const doc = await readFile(new URL('../../docs/findings.md', import.meta.url), 'utf8');
  for (const [id, spec] of Object.entries(FINDINGS)) {
    assert.match(
      doc,
      new RegExp(`\\| \`${id.replace(/\./g, '\\.')}\` \\| ${spec.severity} \\|`),
      `${id} (${spec.severity}) is not documented`,
    );
  }
});

it('builds findings with the registered severity and area, and ranks severities', () => {
  const f = finding('mx.single', 'mx.example', 'one MX');
  assert.deepEqual([f.severity, f.area], ['warning', 'mx']);
  assert.ok(atLeast('error', 'warning'));
  assert.ok(!atLeast('info', 'warning'));
});
