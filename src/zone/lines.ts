/**
 * @module zone/lines
 * Where each record of a zone file starts. `parseZone` (lab/zone.ts) returns records in file order without
 * line numbers; this re-reads the same text with the same RFC 1035 §5.1 entry rules (`;` comments, quoted
 * strings with escapes, parentheses joining lines, `$` directives) so the n-th record entry lines up with
 * `zone.records[n]`. It runs only on text `parseZone` has accepted, so it needs no error reporting of its own.
 */

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
  const entries: RecordEntry[] = [];
  let tokens: string[] = [];
  let cur = '';
  let line = 1;
  let entryLine = 1;
  let blankOwner = false;
  let atLineStart = true;
  let inParens = false;
  let quoted = false;

  const flushToken = () => {
    if (cur !== '') tokens.push(cur);
    cur = '';
  };
  const flushEntry = () => {
    flushToken();
    const directive = !blankOwner && tokens[0]?.startsWith('$') === true;
    if (tokens.length > 0 && !directive) entries.push({ line: entryLine, blankOwner, tokens });
    tokens = [];
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (atLineStart && !inParens && tokens.length === 0 && cur === '') {
      entryLine = line;
      blankOwner = c === ' ' || c === '\t';
    }
    atLineStart = false;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) {
        cur += c + (text[i + 1] as string);
        i++;
        continue;
      }
      cur += c;
      if (c === '"') {
        quoted = false;
        flushToken();
      }
      continue;
    }
    switch (c) {
      case '\\':
        cur += c + (text[i + 1] ?? '');
        i++;
        break;
      case '"':
        flushToken();
        quoted = true;
        cur = '"';
        break;
      case ';':
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
        break;
      case '(':
      case ')':
        flushToken();
        inParens = c === '(';
        break;
      case '\n':
        if (inParens) flushToken();
        else flushEntry();
        line++;
        atLineStart = true;
        break;
      case ' ':
      case '\t':
      case '\r':
        flushToken();
        break;
      default:
        cur += c;
    }
  }
  flushEntry();
  return entries;
}
