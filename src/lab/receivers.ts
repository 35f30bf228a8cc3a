/**
 * @module lab/receivers
 * The lab's mail servers: one receiver per loopback address that an exchange of the zones resolves to (two
 * exchanges on one address share it), plus the implicit MX of a zone apex with addresses but no MX
 * (RFC 5321 §5.1). All listen on one port: 25 when the process may bind it, else one free port for all.
 */
import { MxError, isMxError } from '../core/errors.js';
import { isLoopbackAddress } from './dns-server.js';
import type { KeyPair } from './certificate.js';
import { labCertificate } from './certificate.js';
import type { Fault } from './faults.js';
import type { ReceivedMessage, Receiver } from './smtp-receiver.js';
import { startReceiver } from './smtp-receiver.js';
import type { Zone } from './zone.js';

export interface MailHostPlan {
  address: string;
  hosts: string[];
}

/** Which exchanges the zones name and the loopback addresses they resolve to, grouped by address. */
export function planReceivers(zones: readonly Zone[]): { plan: MailHostPlan[]; unserved: string[] } {
  const addresses = new Map<string, string[]>();
  const mailHosts = new Set<string>();
  for (const zone of zones) {
    for (const r of zone.records) {
      if (r.type === 'A' || r.type === 'AAAA')
        addresses.set(r.name, [...(addresses.get(r.name) ?? []), String(r.data)]);
      if (r.type === 'MX') {
        const exchange = (r.data as { exchange: string }).exchange;
        if (exchange !== '') mailHosts.add(exchange);
      }
    }
    const apexHasMx = zone.records.some((r) => r.name === zone.origin && r.type === 'MX');
    const apexHasAddress = zone.records.some((r) => r.name === zone.origin && (r.type === 'A' || r.type === 'AAAA'));
    if (!apexHasMx && apexHasAddress) mailHosts.add(zone.origin);
  }
  // Follow in-zone CNAMEs of exchanges (RFC 2181 §10.3 forbids them, but senders follow them).
  const cnames = new Map<string, string>();
  for (const zone of zones) for (const r of zone.records) if (r.type === 'CNAME') cnames.set(r.name, String(r.data));
  const byAddress = new Map<string, string[]>();
  const unserved: string[] = [];
  // Hosts that own their address come before names that reach it through a CNAME: the first names the server.
  const aliased = (h: string) => (cnames.has(h) ? 1 : 0);
  for (const host of [...mailHosts].sort((a, b) => aliased(a) - aliased(b) || a.localeCompare(b))) {
    let name = host;
    for (let i = 0; i < 8 && cnames.has(name); i++) name = cnames.get(name)!;
    const list = addresses.get(name) ?? [];
    if (list.length === 0) unserved.push(host);
    for (const a of list) {
      if (!isLoopbackAddress(a)) continue;
      byAddress.set(a, [...new Set([...(byAddress.get(a) ?? []), host])]);
    }
  }
  const plan = [...byAddress.entries()]
    .map(([address, hosts]) => ({ address, hosts }))
    .sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
  return { plan, unserved };
}

export interface MailWorld {
  port: number;
  receivers: Receiver[];
  /** Hosts named by MX records that have no address in the zones (no receiver). */
  unserved: string[];
  /** The receiver serving an exchange or an address. */
  receiverFor(hostOrAddress: string): Receiver | undefined;
  /** Sets a fault on the receiver of an exchange or address; throws when there is none. */
  setFault(hostOrAddress: string, fault: Fault): Promise<void>;
  /** Every message accepted so far, in arrival order. */
  messages(): ReceivedMessage[];
  close(): Promise<void>;
}

export interface MailWorldOptions {
  /** A fixed port; by default 25 when it can be bound, else a free port shared by all receivers. */
  port?: number;
  faults?: Record<string, Fault>;
  spoolDir?: string | null;
  slowMs?: number;
  certificate?: KeyPair;
  /** Per-receiver settings (a certificate, no STARTTLS, another greeting name), for test worlds. */
  customize?: (plan: MailHostPlan) => Promise<ReceiverCustomization> | ReceiverCustomization;
  onMessage?: (message: ReceivedMessage) => void;
}

export interface ReceiverCustomization {
  tls?: KeyPair;
  starttls?: boolean;
  name?: string;
}

function findReceiver(receivers: readonly Receiver[], key: string): Receiver | undefined {
  const k = key.toLowerCase().replace(/\.$/, '');
  return receivers.find((r) => r.address === k || r.hosts.includes(k));
}

/** Starts the receivers for the zones' exchanges. */
export async function startMailWorld(zones: readonly Zone[], options: MailWorldOptions = {}): Promise<MailWorld> {
  const { plan, unserved } = planReceivers(zones);
  // Each receiver gets a certificate naming its own exchanges, as a real MX would have.
  const given = options.certificate;
  const custom = await Promise.all(plan.map(async (p) => (options.customize ? await options.customize(p) : {})));
  const certificates: KeyPair[] = await Promise.all(
    plan.map(async (p, i): Promise<KeyPair> => custom[i]!.tls ?? given ?? (await labCertificate(p.hosts))),
  );
  const faults = options.faults ?? {};
  for (const host of Object.keys(faults)) {
    if (!plan.some((p) => p.address === host || p.hosts.includes(host))) {
      throw new MxError(
        'MX_INVALID_ARGUMENT',
        `--fault names ${host}, which is not an exchange or receiver address of the lab`,
      );
    }
  }
  const faultOf = (p: MailHostPlan): Fault =>
    faults[p.address] ?? p.hosts.map((h) => faults[h]).find((f) => f !== undefined) ?? 'none';

  const attempt = async (port: number): Promise<Receiver[]> => {
    const started: Receiver[] = [];
    try {
      for (const [i, p] of plan.entries()) {
        const common = {
          address: p.address,
          hosts: p.hosts,
          tls: certificates[i]!,
          ...(custom[i]!.starttls !== undefined ? { starttls: custom[i]!.starttls } : {}),
          ...(custom[i]!.name !== undefined ? { name: custom[i]!.name } : {}),
          ...(options.spoolDir ? { spoolDir: options.spoolDir } : {}),
          ...(options.slowMs !== undefined ? { slowMs: options.slowMs } : {}),
          ...(options.onMessage ? { onMessage: options.onMessage } : {}),
        };
        // A receiver that starts `down` still needs a concrete port to come back on: bind once, then go down.
        const r = await startReceiver({ ...common, port: started[0]?.port ?? port, fault: 'none' });
        started.push(r);
        const f = faultOf(p);
        if (f !== 'none') await r.setFault(f);
      }
      return started;
    } catch (err) {
      await Promise.all(started.map((r) => r.close()));
      throw err;
    }
  };

  let receivers: Receiver[] = [];
  if (plan.length > 0) {
    const candidates = options.port !== undefined ? [options.port] : [25, 0, 0, 0, 0];
    for (const [i, port] of candidates.entries()) {
      try {
        receivers = await attempt(port);
        break;
      } catch (err) {
        if (!isMxError(err, 'MX_LAB_BIND') || i === candidates.length - 1) throw err;
      }
    }
  }
  return {
    port: receivers[0]?.port ?? options.port ?? 0,
    receivers,
    unserved,
    receiverFor: (key) => findReceiver(receivers, key),
    async setFault(key, fault) {
      const r = findReceiver(receivers, key);
      if (!r) throw new MxError('MX_INVALID_ARGUMENT', `${key} is not an exchange or receiver address of the lab`);
      await r.setFault(fault);
    },
    messages: () => receivers.flatMap((r) => r.messages).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt)),
    async close() {
      await Promise.all(receivers.map((r) => r.close()));
    },
  };
}
