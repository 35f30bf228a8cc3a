/**
 * A generated zone for the `mxray scan` end-to-end tests (local and distributed): `domains` domains sharing a
 * pool of `hosts` mail hosts, each domain's route known by construction (two MX, a null MX, an implicit MX or
 * no domain at all), and an input file of every domain with a comment, a blank line and invalid lines.
 */
import assert from 'node:assert/strict';
import type { ScanRecord } from '../../src/scan/record.js';

export interface ScanZoneOptions {
  /** The zone, without the trailing dot: `scan.test`. */
  zone: string;
  /** The label of domain i is this and i: `d` gives `d0.scan.test`, `d1.scan.test`… */
  label: string;
  domains: number;
  hosts: number;
  /** The first three octets of the mail hosts' addresses: `127.0.4` gives mx0 127.0.4.1. */
  hostNet: string;
  /** The first three octets of the addresses of the domains without MX (implicit MX). */
  implicitNet: string;
  /** The comment line that starts the input. */
  comment: string;
  /** The invalid line written just before domain i, if any. */
  invalidBefore(i: number): string | undefined;
  /** True when domain i is written in capitals. */
  upperCase(i: number): boolean;
}

/** The route of a domain: what its record must say. */
export interface ExpectedRoute {
  outcome: string;
  implicit: boolean;
  exchanges: string[];
}

export interface ScanInputFile {
  lines: string[];
  /** The numbers (1-based) of the invalid lines. */
  invalid: number[];
  /** Domain i by line number. */
  domainLine: Map<number, number>;
}

export function scanZone(opts: ScanZoneOptions) {
  const domainName = (i: number): string => `${opts.label}${i}.${opts.zone}`;

  /** The route of domain i, by construction of the zone. */
  function expected(i: number): ExpectedRoute {
    switch (i % 10) {
      case 7:
        return { outcome: 'null-mx', implicit: false, exchanges: [] };
      case 8:
        return { outcome: 'deliverable', implicit: true, exchanges: [domainName(i)] };
      case 9:
        return { outcome: 'no-domain', implicit: false, exchanges: [] };
      default:
        return {
          outcome: 'deliverable',
          implicit: false,
          exchanges: [`mx${i % opts.hosts}.${opts.zone}`, `mx${(i + 1) % opts.hosts}.${opts.zone}`],
        };
    }
  }

  function zoneText(): string {
    const lines = [
      `$ORIGIN ${opts.zone}.`,
      '$TTL 300',
      '@ IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )',
      '  IN NS ns1',
    ];
    lines.push('ns1 IN A 127.0.0.53');
    for (let h = 0; h < opts.hosts; h++) lines.push(`mx${h} IN A ${opts.hostNet}.${h + 1}`);
    for (let i = 0; i < opts.domains; i++) {
      const e = expected(i);
      const owner = `${opts.label}${i}`;
      if (e.outcome === 'null-mx') lines.push(`${owner} IN MX 0 .`);
      else if (e.implicit) lines.push(`${owner} IN A ${opts.implicitNet}.${(i % 250) + 1}`);
      else if (e.outcome === 'deliverable') {
        lines.push(`${owner} IN MX 10 mx${i % opts.hosts}`, `${owner} IN MX 20 mx${(i + 1) % opts.hosts}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  function inputLines(): ScanInputFile {
    const lines: string[] = [opts.comment, ''];
    const invalid: number[] = [];
    const domainLine = new Map<number, number>();
    for (let i = 0; i < opts.domains; i++) {
      const bad = opts.invalidBefore(i);
      if (bad !== undefined) {
        lines.push(bad);
        invalid.push(lines.length);
      }
      lines.push(opts.upperCase(i) ? domainName(i).toUpperCase() : domainName(i));
      domainLine.set(lines.length, i);
    }
    return { lines, invalid, domainLine };
  }
  const input = inputLines();

  /**
   * Asserts that the records cover every line of the input once, each as the zone says (or temp-failure, with
   * `acceptTempFailure`).
   */
  function assertComplete(records: ScanRecord[], acceptTempFailure = false): void {
    const lines = records.map((r) => r.line).sort((a, b) => a - b);
    assert.deepEqual(lines, [...new Set(lines)], 'no line written twice');
    const wanted = [...input.domainLine.keys(), ...input.invalid].sort((a, b) => a - b);
    assert.deepEqual(lines, wanted, 'every domain line and invalid line written');
    for (const r of records) {
      assert.equal(r.input, input.lines[r.line - 1]);
      if (input.invalid.includes(r.line)) {
        assert.equal(r.outcome, null);
        assert.match(r.error ?? '', /invalid domain name/);
        continue;
      }
      const i = input.domainLine.get(r.line)!;
      assert.equal(r.domain, domainName(i));
      assert.equal(r.error, null);
      if (acceptTempFailure && r.outcome === 'temp-failure') continue;
      assert.deepEqual(
        { outcome: r.outcome, implicit: r.implicit, exchanges: r.hosts.map((h) => h.exchange) },
        expected(i),
        `line ${r.line} (${r.domain})`,
      );
      assert.equal(typeof r.elapsedMs, 'number');
    }
  }

  return { domainName, expected, zoneText, input, assertComplete };
}

/** The records of JSON Lines output, one a line. */
export function parseJsonl(text: string): ScanRecord[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ScanRecord);
}
