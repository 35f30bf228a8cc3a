/**
 * @module smtp/message
 * The test message (RFC 5322 with MIME, built by nodemailer's MailComposer, never by string concatenation)
 * and its DATA encoding (RFC 5321 §4.5.2 dot-stuffing, CRLF line ends). Inputs are checked at this boundary:
 * CR, LF and NUL never reach an SMTP command or a header.
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { MxError } from '../core/errors.js';
import { normalizeName } from '../dns/name.js';

export interface Mailbox {
  /** As written in MAIL FROM / RCPT TO, domain in A-labels; '' for the null reverse-path. */
  address: string;
  local: string;
  domain: string;
  /** The local part is not ASCII: the server must offer SMTPUTF8 (RFC 6531). */
  needsUtf8: boolean;
}

const CONTROL = /[\r\n\0]/;

/**
 * Checks a mailbox for use on the wire. Unicode domains become A-labels; a Unicode local part needs SMTPUTF8.
 * `''` or `<>` is the null reverse-path (RFC 5321 §4.5.5), allowed only where `allowNull` says so.
 */
export function parseMailbox(input: string, what: string, allowNull = false): Mailbox {
  if (CONTROL.test(input))
    throw new MxError('MX_INVALID_ARGUMENT', `${what} contains CR, LF or NUL, which SMTP cannot carry`);
  const text = input.trim().replace(/^<(.*)>$/, '$1');
  if (text === '') {
    if (allowNull) return { address: '', local: '', domain: '', needsUtf8: false };
    throw new MxError('MX_INVALID_ARGUMENT', `${what} is empty`);
  }
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1)
    throw new MxError('MX_INVALID_ARGUMENT', `${what} ${JSON.stringify(input)} is not local@domain`);
  const local = text.slice(0, at);
  if (/[\s<>]/.test(local) || local.length > 64) {
    throw new MxError(
      'MX_INVALID_ARGUMENT',
      `${what} ${JSON.stringify(input)} has an invalid local part (spaces, <, > or over 64 octets)`,
    );
  }
  let domain: string;
  try {
    domain = normalizeName(text.slice(at + 1));
  } catch (err) {
    throw new MxError('MX_INVALID_ARGUMENT', `${what} ${JSON.stringify(input)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { address: `${local}@${domain}`, local, domain, needsUtf8: /[^\x00-\x7f]/.test(local) };
}

/** Refuses header names and values that could inject lines. */
export function parseHeader(input: string): [string, string] {
  if (CONTROL.test(input))
    throw new MxError('MX_INVALID_ARGUMENT', `header ${JSON.stringify(input)} contains CR, LF or NUL`);
  const m = /^([!-9;-~]+):\s?(.*)$/.exec(input);
  if (!m) throw new MxError('MX_INVALID_ARGUMENT', `header ${JSON.stringify(input)} is not "Name: value"`);
  return [m[1]!, m[2]!];
}

export interface MessageInput {
  from: Mailbox;
  to: Mailbox;
  subject: string;
  body: string;
  headers: [string, string][];
  /** The domain for the Message-ID. */
  idDomain: string;
  date?: Date;
}

/** Builds the RFC 5322 message; returns it with its Message-ID. */
export async function composeMessage(input: MessageInput): Promise<{ messageId: string; bytes: Buffer }> {
  if (CONTROL.test(input.subject)) throw new MxError('MX_INVALID_ARGUMENT', 'the subject contains CR, LF or NUL');
  const messageId = `<${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${input.idDomain}>`;
  const composer = new MailComposer({
    from: input.from.address || `mailer-daemon@${input.idDomain}`,
    to: input.to.address,
    subject: input.subject,
    text: input.body,
    messageId,
    date: input.date ?? new Date(),
    headers: Object.fromEntries([['X-Mailer', 'mxray'], ...input.headers]),
    newline: '\r\n',
  });
  const bytes = await new Promise<Buffer>((resolve, reject) =>
    composer.compile().build((err, message) => (err ? reject(err) : resolve(message))),
  );
  return { messageId, bytes };
}

/**
 * Encodes a message for DATA: every line ends in CRLF, a line starting with "." gets another (RFC 5321
 * §4.5.2), and the terminating `.` line follows.
 */
export function encodeData(message: Buffer): Buffer {
  const text = message
    .toString('latin1')
    .replace(/\r?\n/g, '\r\n')
    .replace(/\r(?!\n)/g, '\r\n');
  const body = text.endsWith('\r\n') ? text : `${text}\r\n`;
  const stuffed = body.replace(/^\./gm, '..');
  return Buffer.from(`${stuffed}.\r\n`, 'latin1');
}
