/**
 * @module lab/remap
 * The lab's network rule made code: it serves and connects to loopback only. Every IPv4 address in a zone
 * outside 127.0.0.0/8 is given its own address in 127.0.0.0/8 (the same original always maps to the same one);
 * IPv6 addresses other than ::1 are dropped, since loopback has only one IPv6 address. The map is returned so
 * the lab can print it.
 */
import type { DnsRecord } from '../dns/types.js';
import { isLoopbackAddress } from './dns-server.js';
import type { Zone } from './zone.js';

export interface RemapEntry {
  original: string;
  /** The loopback address used instead, or null when the record was dropped. */
  loopback: string | null;
  names: string[];
}

/** Rewrites the zones' A/AAAA data onto loopback. */
export function remapZones(zones: readonly Zone[]): { zones: Zone[]; map: RemapEntry[] } {
  const used = new Set<string>();
  for (const z of zones) for (const r of z.records) if (r.type === 'A' && typeof r.data === 'string') used.add(r.data);
  const map = new Map<string, RemapEntry>();
  let next = (127 << 24) | (100 << 16) | 1; // 127.100.0.1 upwards, well away from hand-written lab addresses
  const allocate = (): string => {
    for (;;) {
      const a = `${(next >>> 24) & 255}.${(next >>> 16) & 255}.${(next >>> 8) & 255}.${next & 255}`;
      next++;
      if ((next & 255) === 255) next += 2;
      if (!used.has(a)) {
        used.add(a);
        return a;
      }
    }
  };
  const out = zones.map((zone) => {
    const records: DnsRecord[] = [];
    for (const r of zone.records) {
      if ((r.type !== 'A' && r.type !== 'AAAA') || typeof r.data !== 'string' || isLoopbackAddress(r.data)) {
        records.push(r);
        continue;
      }
      let entry = map.get(r.data);
      if (!entry) {
        entry = { original: r.data, loopback: r.type === 'A' ? allocate() : null, names: [] };
        map.set(r.data, entry);
      }
      if (!entry.names.includes(r.name)) entry.names.push(r.name);
      if (entry.loopback) records.push({ ...r, data: entry.loopback });
    }
    return { ...zone, records };
  });
  return { zones: out, map: [...map.values()] };
}
