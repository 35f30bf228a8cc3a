/**
 * @module smtp/probe-targets
 * Probing many addresses at once — a host's addresses or a whole mail route — with a bounded number of
 * connections in flight and one at a time per address (a server is not hammered), and the judgement a user
 * needs when nothing connects: is port 25 blocked from here, or are the servers down?
 */
import type { RouteHost } from '../mx/route.js';
import type { ProbeOptions, ProbeResult } from './probe.js';
import { probeSmtp } from './probe.js';

export interface ProbeTarget {
  host: string | null;
  address: string;
}

/** Every address of every host in route order, each once. */
export function targetsOfRoute(hosts: readonly RouteHost[]): ProbeTarget[] {
  const seen = new Set<string>();
  const out: ProbeTarget[] = [];
  for (const h of hosts) {
    for (const address of h.addresses) {
      const key = `${h.exchange}|${address}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ host: h.exchange, address });
    }
  }
  return out;
}

/** Probes the targets, at most `concurrency` at once and one per address; results keep the targets' order. */
export async function probeTargets(
  targets: readonly ProbeTarget[],
  base: Omit<ProbeOptions, 'host' | 'address'>,
  concurrency = 8,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array<ProbeResult>(targets.length);
  const busy = new Map<string, Promise<void>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      const before = busy.get(t.address) ?? Promise.resolve();
      const run = before.then(async () => {
        results[i] = await probeSmtp({ ...base, host: t.host, address: t.address });
      });
      busy.set(
        t.address,
        run.catch(() => undefined),
      );
      await run;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  return results;
}

export interface ReachabilityVerdict {
  /** `ok`: something connected. `port-blocked`: every attempt timed out. `servers-down`: refusals. */
  kind: 'ok' | 'port-blocked' | 'servers-down' | 'unreachable';
  message: string;
}

/**
 * When no address connects, tells "port N is blocked from here" from "the servers are down": a refusal
 * (RST) proves packets reach the host and come back, so the path is open and the server is not listening;
 * silence from every address of every host, often of several providers, is what an outbound filter on
 * port 25 looks like (many ISPs and clouds drop it).
 */
export function judgeReachability(results: readonly ProbeResult[], port: number): ReachabilityVerdict {
  if (results.length === 0) return { kind: 'unreachable', message: 'there was no address to probe' };
  if (results.some((r) => r.connected)) return { kind: 'ok', message: 'at least one server accepted a connection' };
  const timeouts = results.filter((r) => r.connectError === 'timeout').length;
  const refused = results.filter((r) => r.connectError === 'refused').length;
  if (timeouts === results.length) {
    return {
      kind: 'port-blocked',
      message:
        `every one of ${results.length} connection attempt(s) to port ${port} timed out with no answer at all: ` +
        `port ${port} is most likely blocked on the way out from here (an ISP or cloud filter); ` +
        'judged by silence from every address, where a down server would usually refuse',
    };
  }
  if (refused > 0) {
    return {
      kind: 'servers-down',
      message:
        `${refused} of ${results.length} address(es) refused the connection: packets reach them and come back, ` +
        `so port ${port} is not blocked from here; nothing listens there (the servers are down)`,
    };
  }
  return { kind: 'unreachable', message: `no address could be reached (${results.map((r) => r.error).join('; ')})` };
}
