/**
 * @module check/checks/smtp
 * Findings from the SMTP probe of every MX address (RFC 5321 §4.3.1 greeting, RFC 3207 STARTTLS, RFC 8996 TLS
 * versions, RFC 6125 names) and, when asked, the open-relay test: MAIL FROM and RCPT TO an outside address,
 * then RSET and QUIT — never DATA, so nothing is ever relayed.
 */
import { SmtpConnection } from '../../smtp/connection.js';
import type { ProbeResult } from '../../smtp/probe.js';
import type { Check, CheckContext } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/** Under this many days left, a certificate is about to expire. */
export const EXPIRING_DAYS = 14;

const where = (p: ProbeResult) => `${p.host ?? p.address} [${p.address}]`;

/** Findings from one probe. */
export function probeFindings(p: ProbeResult): Finding[] {
  const out: Finding[] = [];
  const subject = where(p);
  if (!p.connected || p.banner === null || (p.banner.code !== 220 && p.error)) {
    out.push(
      finding(
        'smtp.unreachable',
        subject,
        `${subject} does not take SMTP on port ${p.port}: ${p.error ?? 'no greeting'}. Check the server runs and that firewalls let port ${p.port} in from the internet.`,
        {
          error: p.error,
          phase: p.phase,
        },
      ),
    );
    return out;
  }
  const host = p.host?.toLowerCase();
  if (host && !p.banner.text.toLowerCase().includes(host)) {
    out.push(
      finding(
        'smtp.banner-mismatch',
        subject,
        `The greeting "${p.banner.code} ${p.banner.text}" does not name ${host}. Set the server's host name (e.g. Postfix myhostname) to ${host} so its greeting and HELO match the MX and its PTR.`,
        {
          banner: p.banner,
        },
      ),
    );
  }
  if (p.ehlo && !p.starttlsOffered) {
    out.push(
      finding(
        'smtp.no-starttls',
        subject,
        `${subject} does not offer STARTTLS, so mail to it crosses the internet in clear text. Install a certificate and enable STARTTLS.`,
        {
          extensions: p.ehlo.extensions,
        },
      ),
    );
  }
  const tls = p.tls;
  if (tls) {
    if (tls.protocol && /^TLSv1(\.[01])?$/.test(tls.protocol)) {
      out.push(
        finding(
          'smtp.tls-old',
          subject,
          `${subject} negotiated ${tls.protocol}, deprecated by RFC 8996. Enable TLS 1.2 and 1.3 on the server.`,
          {
            protocol: tls.protocol,
          },
        ),
      );
    }
    const cert = tls.certificate;
    if (cert) {
      const evidence = {
        subject: cert.subject,
        altNames: cert.altNames,
        issuer: cert.issuer,
        validTo: cert.validTo,
        daysLeft: cert.daysLeft,
      };
      if (cert.daysLeft < 0) {
        out.push(
          finding(
            'smtp.cert-expired',
            subject,
            `The certificate of ${subject} expired on ${cert.validTo.slice(0, 10)}. Renew it (and automate renewal).`,
            evidence,
          ),
        );
      } else if (cert.daysLeft < EXPIRING_DAYS) {
        out.push(
          finding(
            'smtp.cert-expiring',
            subject,
            `The certificate of ${subject} expires in ${cert.daysLeft} day(s), on ${cert.validTo.slice(0, 10)}. Renew it now.`,
            evidence,
          ),
        );
      }
      if (cert.nameMatches === false) {
        out.push(
          finding(
            'smtp.cert-name-mismatch',
            subject,
            `The certificate of ${subject} names ${cert.altNames.join(', ') || cert.subject}, not ${p.host}. Get a certificate whose subjectAltName includes ${p.host}.`,
            evidence,
          ),
        );
      }
      if (!cert.trusted && cert.daysLeft >= 0) {
        out.push(
          finding(
            'smtp.cert-untrusted',
            subject,
            `The certificate of ${subject} is not trusted (${cert.selfSigned ? 'self-signed' : (cert.trustError ?? 'unknown issuer')}). Senders that verify (MTA-STS, DANE) will refuse it; use a certificate from a public CA.`,
            {
              ...evidence,
              trustError: cert.trustError,
            },
          ),
        );
      }
    }
  }
  return out;
}

/** RCPT TO an outside address: a 2xx means the server would relay for anyone. */
async function testOpenRelay(ctx: CheckContext, p: ProbeResult): Promise<Record<string, unknown>> {
  const t = ctx.smtp.timeouts;
  const opened = await SmtpConnection.open({
    address: p.address,
    port: p.port,
    timeoutMs: t.connectMs,
    signal: ctx.signal,
  });
  if (opened.kind !== 'connected') return { address: p.address, tested: false, error: opened.error };
  const conn = opened.connection;
  try {
    const steps: [string, number][] = [];
    const greet = await conn.read('greeting', t.greetingMs, ctx.signal);
    if (greet.kind !== 'reply' || greet.reply.code !== 220)
      return { address: p.address, tested: false, error: 'no 220 greeting' };
    for (const [line, phase] of [
      [`EHLO ${ctx.smtp.helo}`, 'ehlo'],
      ['MAIL FROM:<mxray-relay-test@example.net>', 'mail'],
      ['RCPT TO:<mxray-relay-test@example.org>', 'rcpt'],
    ] as const) {
      const r = await conn.command(line, phase, t.commandMs, ctx.signal);
      if (r.kind !== 'reply') return { address: p.address, tested: false, error: `${phase}: ${r.kind}` };
      steps.push([line, r.reply.code]);
      if (r.reply.code >= 400) break;
    }
    await conn.command('RSET', 'rset', t.commandMs, ctx.signal);
    await conn.command('QUIT', 'quit', Math.min(2000, t.commandMs), ctx.signal);
    const rcpt = steps.find(([l]) => l.startsWith('RCPT'));
    return { address: p.address, tested: true, relays: rcpt !== undefined && rcpt[1] < 300, steps };
  } finally {
    conn.close();
  }
}

export const checkSmtp: Check = async (ctx) => {
  if (!ctx.smtp.enabled) return { findings: [], data: { skipped: 'SMTP checks are off (--no-smtp)' } };
  const findings = ctx.probes.flatMap(probeFindings);
  const relay: Record<string, unknown>[] = [];
  if (ctx.openRelay) {
    for (const p of ctx.probes.filter((x) => x.connected && x.banner?.code === 220)) {
      const r = await testOpenRelay(ctx, p);
      relay.push(r);
      if (r.relays === true) {
        findings.push(
          finding(
            'smtp.open-relay',
            where(p),
            `${where(p)} accepted a recipient in an outside domain (example.org) from an outside sender: it relays for anyone and will be abused for spam. Restrict relaying to your own domains and authenticated users.`,
            r,
          ),
        );
      }
    }
  }
  const summary = ctx.probes.map((p) => ({
    host: p.host,
    address: p.address,
    connected: p.connected,
    banner: p.banner,
    starttls: p.starttlsOffered,
    tls: p.tls ? { protocol: p.tls.protocol, cipher: p.tls.cipher, certificate: p.tls.certificate } : null,
    error: p.error,
  }));
  return { findings, data: { probes: summary, ...(ctx.openRelay ? { openRelay: relay } : {}) } };
};
