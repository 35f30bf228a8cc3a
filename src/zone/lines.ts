/**
 * @module zone/lines
 * Where each record of a zone file starts. `parseZone` (lab/zone.ts) returns records in file order without
 * line numbers; this runs the parser's own lexer (RFC 1035 §5.1 entries) over the same text and leaves out the
 * `$` directives, so the n-th record entry lines up with `zone.records[n]`. It runs only on text `parseZone`
 * has accepted.
 */
import { lex } from '../lab/zone.js';

/** One record entry of a zone file: the line it starts on and its tokens as written (quotes kept). */
export interface RecordEntry {
  line: number;
  /** The line starts with a blank: the owner is the previous record's (RFC 1035 §5.1). */
  blankOwner: boolean;
  tokens: string[];
}

/**
 * The record entries of zone-file text, in file order, directives ($ORIGIN, $TTL) left out.
 * @example recordEntries('$TTL 60\n@ SOA ns h ( 1 2\n 3 4 5 )\n  MX 0 .\n').map((e) => e.line) // [2, 4]
 */
export function recordEntries(text: string): RecordEntry[] {
  // The zone parser's own lexer, so lint lines and parsed records can never disagree on where an entry starts.
  return lex(text, (line) => `line ${line}`)
    .filter((e) => !e.tokens[0]?.text.startsWith('$'))
    .map((e) => ({ line: e.line, blankOwner: e.blankOwner, tokens: e.tokens.map((t) => t.text) }));
}
