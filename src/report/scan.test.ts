import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RouteHost } from '../mx/route.js';
import type { ScanRecord } from '../scan/record.js';
import { renderScanJsonl, writeScanJsonl } from './scan.js';

const host = (exchange: string, preference: number, addresses: string[]): RouteHost => ({
  exchange,
  preference,
  addresses,
  ipv4: addresses.filter((a) => !a.includes(':')),
  ipv6: addresses.filter((a) => a.includes(':')),
  canonical: null,
  error: null,
});

/** A plain delivery route, as the scan makes most of them. */
function plain(overrides: Partial<ScanRecord> = {}): ScanRecord {
  return {
    domain: 'example.com',
    outcome: 'deliverable',
    implicit: false,
    hosts: [host('mx1.example.com', 10, ['::1', '127.0.0.2']), host('mx2.example.com', 20, ['127.0.0.3'])],
    warnings: [],
    reason: null,
    ttl: 3600,
    canonical: null,
    pruned: null,
    queries: 3,
    elapsedMs: 12,
    input: 'example.com',
    line: 7,
    error: null,
    ...overrides,
  };
}

/** What writeScanJsonl put in a buffer of `size` octets at `at`, or null when it declined. */
function written(record: ScanRecord, size = 4096, at = 5): string | null {
  const buf = Buffer.alloc(size);
  const end = writeScanJsonl(record, buf, at);
  return end < 0 ? null : buf.toString('utf8', at, end);
}

it('writeScanJsonl writes the bytes of renderScanJsonl (and of JSON.stringify) for plain delivery routes', () => {
  const records = [
    plain(),
    plain({ hosts: [host('mx.example.net', 0, ['127.0.0.9'])], ttl: 0, queries: 0, elapsedMs: 0, line: 1 }),
    plain({ domain: 'xn--bcher-kva.example', input: 'XN--BCHER-KVA.example.', ttl: 2 ** 31 - 1, line: 123456789 }),
    plain({ hosts: [] }),
  ];
  for (const r of records) {
    assert.equal(written(r), renderScanJsonl(r));
    assert.equal(written(r), JSON.stringify(r) + '\n');
  }
});

it('writeScanJsonl declines what it does not write as JSON would, leaving it to renderScanJsonl', () => {
  const declined = [
    plain({ input: 'bücher.example' }),
    plain({ input: 'a"b.example' }),
    plain({ input: 'a\\b.example' }),
    plain({ input: 'tab\there.example' }),
    plain({ warnings: ['something'] }),
    plain({ outcome: 'null-mx', hosts: [], reason: 'no mail' }),
    plain({ implicit: true }),
    plain({ ttl: null }),
    plain({ elapsedMs: 1.5 }),
    plain({ queries: -1 }),
    plain({ domain: null, outcome: null, error: 'invalid' }),
  ];
  for (const r of declined) assert.equal(written(r), null, JSON.stringify(r.input));
  // And renderScanJsonl still writes each of them as JSON.stringify does (hosts and all).
  for (const r of declined) assert.deepEqual(JSON.parse(renderScanJsonl(r)), JSON.parse(JSON.stringify(r)));
});

it('writeScanJsonl declines a buffer without room, at every size short of the line, and never writes outside it', () => {
  const r = plain();
  const line = Buffer.from(renderScanJsonl(r));
  for (let size = 0; size < line.length + 3; size++) {
    const buf = Buffer.alloc(size + 8, 0xee);
    const view = buf.subarray(4, 4 + size);
    const end = writeScanJsonl(r, view, 3);
    if (3 + line.length <= size) {
      assert.equal(end, 3 + line.length);
      assert.deepEqual(view.subarray(3, end), line);
    } else assert.equal(end, -1, `size ${size}`);
    // The octets around the view are untouched.
    assert.deepEqual([...buf.subarray(0, 4), ...buf.subarray(4 + size)], Array(8).fill(0xee));
  }
});
