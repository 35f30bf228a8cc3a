/**
 * @module smtp/send-message
 * A test message from end to end, as a sending MTA handles it: the recipient domain's mail route (RFC 5321
 * §5.1), then delivery down it with failover. A route that takes no mail (null MX, no domain) is a permanent
 * failure before any connection (RFC 7505 §3); a temporary DNS failure is a temporary one.
 */
import type { CallOptions, Resolver } from '../dns/resolver.js';
import type { Rng } from '../core/random.js';
import type { MailRoute } from '../mx/route.js';
import { resolveRoute } from '../mx/route.js';
import type { Attempt, Delivery, QuitAfter } from './deliver.js';
import { deliverMessage } from './deliver.js';
import type { Mailbox } from './message.js';
import { composeMessage } from './message.js';
import type { PhaseTimeouts } from './probe.js';

export interface SendMessageOptions extends CallOptions {
  resolver: Resolver;
  from: Mailbox;
  to: Mailbox;
  subject: string;
  body: string;
  headers?: [string, string][];
  helo: string;
  port: number;
  requireTls?: boolean;
  quitAfter?: QuitAfter | null;
  timeouts: PhaseTimeouts;
  rng?: Rng;
  onAttempt?: (attempt: Attempt) => void;
}

/**
 * Routes and delivers one message.
 * @example const { route, delivery } = await sendMessage({ resolver, from, to, subject: 'hi', body: 'test',
 *   helo: 'client.example', port: 25, timeouts: DEFAULT_TIMEOUTS });
 */
export async function sendMessage(options: SendMessageOptions): Promise<{ route: MailRoute; delivery: Delivery }> {
  const route = await resolveRoute(options.to.domain, {
    resolver: options.resolver,
    signal: options.signal,
    ...(options.rng ? { rng: options.rng } : {}),
  });
  const { messageId, bytes } = await composeMessage({
    from: options.from,
    to: options.to,
    subject: options.subject,
    body: options.body,
    headers: options.headers ?? [],
    idDomain: options.from.domain || options.helo,
  });
  if (route.outcome !== 'deliverable') {
    const temporary = route.outcome === 'temp-failure';
    return {
      route,
      delivery: {
        delivered: false,
        permanent: !temporary,
        acceptedBy: null,
        attempts: [],
        messageId,
        quitAfter: options.quitAfter ?? null,
        verdict: `${temporary ? 'temporary' : 'permanent'} failure before any connection: ${route.reason ?? `${route.domain}: ${route.outcome}`}`,
      },
    };
  }
  const delivery = await deliverMessage({
    hosts: route.hosts,
    port: options.port,
    from: options.from,
    to: options.to,
    message: bytes,
    messageId,
    helo: options.helo,
    requireTls: options.requireTls ?? false,
    quitAfter: options.quitAfter ?? null,
    timeouts: options.timeouts,
    signal: options.signal,
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
  });
  return { route, delivery };
}
