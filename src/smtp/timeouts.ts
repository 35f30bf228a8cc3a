/**
 * @module smtp/timeouts
 * How long each phase of an SMTP session may take. On its own so that commands which only pass the defaults
 * along (`scan`, for its `--what check`) do not load the SMTP client and TLS to start.
 */

export interface PhaseTimeouts {
  connectMs: number;
  greetingMs: number;
  commandMs: number;
  tlsMs: number;
}

/** RFC 5321 §4.5.3.2 allows minutes; a probe waits less, and says which phase ran out. */
export const DEFAULT_TIMEOUTS: PhaseTimeouts = {
  connectMs: 10_000,
  greetingMs: 30_000,
  commandMs: 30_000,
  tlsMs: 15_000,
};
