/**
 * @module lab
 * The public lab API (`mxray/lab`): zone files (RFC 1035 §5) served by an authoritative DNS server on
 * loopback that answers as Knot DNS does. `startLab` is what tests, the demo and `mxray lab` call.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MxError } from '../core/errors.js';
import { isLoopbackAddress, startDnsServer } from './dns-server.js';
import type { DnsServer } from './dns-server.js';
import type { MailWorld, MailWorldOptions } from './receivers.js';
import type { RemapEntry } from './remap.js';
import { remapZones } from './remap.js';
import { loadZoneFile, parseZone } from './zone.js';
import type { Zone } from './zone.js';

export { parseZone, loadZoneFile } from './zone.js';
export type { Zone, ParseZoneOptions } from './zone.js';
export { startDnsServer, isLoopbackAddress, labDnsChannel } from './dns-server.js';
export type { DnsServer, DnsServerOptions } from './dns-server.js';
export { createAuthority, respond } from './authority.js';
export type { Authority, AuthorityOptions, Reply, RespondOptions } from './authority.js';
export type { MailWorld, MailWorldOptions } from './receivers.js';

/** A zone for the lab: a zone file, a directory of `*.zone` files, or zone text. */
export type LabZoneSource = string | { text: string; origin?: string; file?: string };

export interface LabOptions {
  zones: LabZoneSource[];
  /** Where the DNS server listens. Default 127.0.0.1, port 0 (a free port). Loopback only. */
  dns?: { host?: string; port?: number };
  /** Also start SMTP receivers for the zones' exchanges (lab/receivers.ts). Default false. */
  smtp?: boolean | MailWorldOptions;
  /**
   * Also answer on the loopback address of every nameserver the zones name (NS targets with an in-zone A
   * record), on the same port, so tools that ask the authoritative servers directly find them. Default false.
   */
  nameservers?: boolean;
}

export interface Lab {
  dns: { host: string; port: number };
  zones: Zone[];
  /** The SMTP receivers, when `smtp` was asked for; otherwise null. */
  smtp: MailWorld | null;
  /** Addresses of the zone files that the lab serves on loopback instead (see lab/remap.ts). */
  remapped: RemapEntry[];
  /** Extra addresses DNS answers on (with `nameservers`), each on `dns.port`. */
  nameserverAddresses: string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function loadSource(source: LabZoneSource): Promise<Zone[]> {
  if (typeof source !== 'string') {
    return [
      parseZone(source.text, {
        ...(source.origin === undefined ? {} : { origin: source.origin }),
        ...(source.file === undefined ? {} : { file: source.file }),
      }),
    ];
  }
  const path = resolve(source);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    throw new MxError('MX_INVALID_ARGUMENT', `zone source ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (!isDirectory) return [await loadZoneFile(path)];
  const names = (await readdir(path)).filter((n) => n.endsWith('.zone')).sort();
  if (names.length === 0) throw new MxError('MX_INVALID_ARGUMENT', `no *.zone files in ${source}`);
  const zones: Zone[] = [];
  for (const n of names) zones.push(await loadZoneFile(join(path, n)));
  return zones;
}

/**
 * Loads the zones and starts the lab's DNS server. Throws MxError MX_ZONE_SYNTAX / MX_ZONE_CONFLICT for bad
 * zones (two zones with one origin included), MX_LAB_NOT_LOOPBACK / MX_LAB_BIND for the address.
 * @example
 * const lab = await startLab({ zones: ['examples/zones'] });
 * t.after(() => lab.close());
 * // dig @${lab.dns.host} -p ${lab.dns.port} example.com MX
 */
export async function startLab(opts: LabOptions): Promise<Lab> {
  const loaded: Zone[] = [];
  for (const source of opts.zones) loaded.push(...(await loadSource(source)));
  // The lab serves and connects to loopback only: other addresses are remapped before anything uses them.
  const { zones, map: remapped } = remapZones(loaded);
  // startDnsServer indexes the zones (and refuses two with one origin) before it binds anything.
  const server = await startDnsServer({ zones, host: opts.dns?.host ?? '127.0.0.1', port: opts.dns?.port ?? 0 });
  const extra: DnsServer[] = [];
  if (opts.nameservers) {
    // Each nameserver address serves only the zones whose NS records name it, as real servers do, so an
    // iterative resolver (trace) walking from the lab's root sees referrals, not one server answering all.
    for (const [address, served] of nameserverZones(zones)) {
      if (address === server.host) continue;
      try {
        extra.push(await startDnsServer({ zones: served, host: address, port: server.port }));
      } catch {
        // The address is taken on that port (another lab): the nameserver stays reachable only at dns.host.
      }
    }
  }
  let smtp: MailWorld | null = null;
  if (opts.smtp) {
    try {
      // Loaded only when asked for, so a DNS-only lab does not depend on the SMTP stack.
      const { startMailWorld } = await import('./receivers.js');
      smtp = await startMailWorld(zones, opts.smtp === true ? {} : opts.smtp);
    } catch (err) {
      await Promise.all([server.close(), ...extra.map((e) => e.close())]);
      throw err;
    }
  }
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= Promise.all([server.close(), ...extra.map((e) => e.close()), smtp?.close()]).then(() => undefined);
    return closing;
  };
  return {
    dns: { host: server.host, port: server.port },
    zones,
    smtp,
    remapped,
    nameserverAddresses: extra.map((e) => e.host),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Each loopback nameserver address, with the zones whose NS records name a host on it. */
function nameserverZones(zones: readonly Zone[]): Map<string, Zone[]> {
  const addresses = new Map<string, string[]>();
  for (const z of zones)
    for (const r of z.records)
      if ((r.type === 'A' || r.type === 'AAAA') && isLoopbackAddress(String(r.data)))
        addresses.set(r.name, [...(addresses.get(r.name) ?? []), String(r.data)]);
  const out = new Map<string, Zone[]>();
  for (const z of zones) {
    const hosts = z.records.filter((r) => r.type === 'NS' && r.name === z.origin).map((r) => String(r.data));
    for (const address of new Set(hosts.flatMap((h) => addresses.get(h) ?? [])))
      out.set(address, [...(out.get(address) ?? []), z]);
  }
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}
