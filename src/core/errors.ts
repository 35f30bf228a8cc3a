/**
 * @module core/errors
 * The one registry of error codes. Expected outcomes (NXDOMAIN, a timeout, a refused connection) are values,
 * never errors; an `MxError` is thrown only for invalid input at a public boundary, for bad data that cannot
 * be used at all (a broken zone file), or for an environment problem (a port that cannot be bound).
 */

/** Every error code mxray throws, with a one-line description. Codes are a public contract. */
export const ERROR_CODES = {
  MX_INVALID_ARGUMENT: 'An option or argument has a value that cannot be used.',
  MX_INVALID_NAME: 'A domain name is not valid (empty label, label over 63 octets, name over 253, bad character).',
  MX_INVALID_SERVER: 'A DNS server is not written as HOST, HOST:PORT, IPv6 or [IPv6]:PORT.',
  MX_DNS_BAD_WIRE: 'A DNS message could not be decoded.',
  MX_DNS_NO_SERVERS: 'No DNS server is configured (none given and none in /etc/resolv.conf).',
  MX_ZONE_SYNTAX: 'A zone file has a syntax error (the message names the file and line).',
  MX_ZONE_CONFLICT: 'Zone data is inconsistent (a CNAME beside other data, two zones with one origin).',
  MX_LAB_BIND: 'The lab could not listen on the address it was given.',
  MX_INTERRUPTED: 'The work was interrupted (Ctrl-C or SIGTERM) before it finished.',
  MX_LAB_NOT_LOOPBACK: 'The lab was asked to listen on an address outside 127.0.0.0/8 and ::1.',
  MX_CLOSED: 'A shared resource (a UDP socket pool) was used after it was closed.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The base of every error mxray throws; match on `code`, never on the message. */
export class MxError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MxError';
    this.code = code;
  }
}

/** True when `err` is an MxError, optionally with the given code. */
export function isMxError(err: unknown, code?: ErrorCode): err is MxError {
  return err instanceof MxError && (code === undefined || err.code === code);
}

/** Exhaustiveness check for `switch (x.kind)`. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
