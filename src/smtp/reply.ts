/**
 * @module smtp/reply
 * SMTP replies (RFC 5321 §4.2): `code SP text` or multi-line `code-text` … `code SP text`, with the enhanced
 * status code of RFC 3463 (`class.subject.detail`) when the server uses it (RFC 2034). The reader is
 * incremental and bounded, because a hostile server may send a 2 MB line or an endless multi-line reply:
 * limits are data, and going over one is an outcome, not a crash.
 */

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code (`2.1.0`) when present, else null. */
  enhanced: string | null;
  /** Every line's text, without code and separator. */
  lines: string[];
  /** The lines joined with a space. */
  text: string;
}

export interface ReplyLimits {
  /** Longest line accepted, in octets (RFC 5321 §4.5.3.1.5 says 512; servers exceed it, so a margin). */
  maxLineOctets: number;
  /** Most lines in one reply. */
  maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = { maxLineOctets: 4096, maxLines: 200 };

export type ReadResult =
  | { kind: 'reply'; reply: SmtpReply; raw: string[] }
  | { kind: 'need-more' }
  | { kind: 'protocol-error'; reason: string };

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

/** Builds a reply from its lines, taking the enhanced code from the first line when its class matches. */
export function makeReply(code: number, lines: string[]): SmtpReply {
  const m = ENHANCED.exec(lines[0] ?? '');
  const enhanced = m && m[1] === String(code)[0] ? `${m[1]}.${m[2]}.${m[3]}` : null;
  const text = lines
    .map((l) => (enhanced ? l.replace(ENHANCED, '') : l))
    .join(' ')
    .trim();
  return { code, enhanced, lines, text };
}

/** Reads replies out of a byte stream, one at a time, within limits. */
export class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private raw: string[] = [];
  private code: number | null = null;

  constructor(private readonly limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {}

  /** Adds received bytes. Call `next()` after each push until it needs more. */
  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
  }

  /** Octets received but not yet read into a reply. */
  get pending(): number {
    return this.buffer.length;
  }

  /** The next complete reply, or what stops it. */
  next(): ReadResult {
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) {
        if (this.buffer.length > this.limits.maxLineOctets) {
          return { kind: 'protocol-error', reason: `a reply line longer than ${this.limits.maxLineOctets} octets` };
        }
        return { kind: 'need-more' };
      }
      if (nl > this.limits.maxLineOctets) {
        return { kind: 'protocol-error', reason: `a reply line longer than ${this.limits.maxLineOctets} octets` };
      }
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      if (!m) return { kind: 'protocol-error', reason: `not an SMTP reply line: ${JSON.stringify(line.slice(0, 80))}` };
      const code = Number(m[1]);
      if (code < 200 || code > 599) return { kind: 'protocol-error', reason: `reply code ${code} is outside 2xx–5xx` };
      if (this.code !== null && code !== this.code) {
        return { kind: 'protocol-error', reason: `a multi-line reply changed its code from ${this.code} to ${code}` };
      }
      this.code = code;
      this.lines.push(m[3] ?? '');
      this.raw.push(line);
      if (m[2] === '-') {
        if (this.lines.length >= this.limits.maxLines) {
          return { kind: 'protocol-error', reason: `a multi-line reply of more than ${this.limits.maxLines} lines` };
        }
        continue;
      }
      const reply = makeReply(code, this.lines);
      const raw = this.raw;
      this.lines = [];
      this.raw = [];
      this.code = null;
      return { kind: 'reply', reply, raw };
    }
  }
}

/** The reply's class: 2 positive, 3 intermediate, 4 transient negative, 5 permanent negative. */
export function replyClass(reply: SmtpReply): 2 | 3 | 4 | 5 {
  return Math.floor(reply.code / 100) as 2 | 3 | 4 | 5;
}

/** Parses EHLO reply lines after the first into extension keywords (upper case) and their parameters. */
export function parseEhlo(reply: SmtpReply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword) out.set(keyword.toUpperCase(), params.join(' '));
  }
  return out;
}
