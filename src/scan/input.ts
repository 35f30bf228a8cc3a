/**
 * @module scan/input
 * Input lines of a scan: one domain per line, or one column of a CSV file (RFC 4180) chosen by its header.
 * Pure: a line goes in, a domain or the reason it cannot be used comes out. Blank lines and `#` comments are
 * skipped without a record.
 */
import { isMxError, MxError } from '../core/errors.js';
import { normalizeName } from '../dns/name.js';

/** One input line made usable: the normalized domain, or why the line was skipped. */
export type ScanInput =
  | { line: number; input: string; domain: string; error: null }
  | { line: number; input: string; domain: null; error: string };

export interface InputParserOptions {
  /** Read this column of a CSV file (matched case-insensitively against the first line, the header). */
  column?: string;
}

/**
 * Splits one CSV record (RFC 4180 §2: quoted fields, doubled quotes). A record spanning several lines is not
 * supported: a scan input has one domain per line.
 * @example splitCsvLine('a,"b,c",d') // ['a', 'b,c', 'd']
 */
export function splitCsvLine(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/** Whether a line carries no domain at all (blank, or a `#` comment): it is skipped without a record. */
export function carriesNoDomain(text: string): boolean {
  return text.trim() === '' || text.trimStart().startsWith('#');
}

/**
 * Returns a parser for successive input lines (1-based line numbers). It returns null for lines that carry no
 * domain (blank, `#` comment, the CSV header). Throws MxError MX_INVALID_ARGUMENT when the CSV header lacks
 * the column.
 * @example
 * const parse = createInputParser();
 * parse('Example.COM', 1) // { line: 1, input: 'Example.COM', domain: 'example.com', error: null }
 */
export function createInputParser(options: InputParserOptions = {}): (text: string, line: number) => ScanInput | null {
  let columnIndex: number | null = null;
  const wanted = options.column?.trim().toLowerCase();
  return (raw, line) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (wanted !== undefined && columnIndex === null) {
      const header = splitCsvLine(text).map((h) => h.trim().toLowerCase());
      const index = header.indexOf(wanted);
      if (index < 0) {
        throw new MxError(
          'MX_INVALID_ARGUMENT',
          `the CSV header (line ${line}) has no column ${JSON.stringify(options.column)}; it has ${header.join(', ')}`,
        );
      }
      columnIndex = index;
      return null;
    }
    if (carriesNoDomain(text)) return null;
    let value = text;
    if (columnIndex !== null) {
      const field = splitCsvLine(text)[columnIndex];
      if (field === undefined) return { line, input: text, domain: null, error: `no column ${columnIndex + 1}` };
      value = field;
    }
    try {
      return { line, input: text, domain: normalizeName(value.trim()), error: null };
    } catch (err) {
      if (isMxError(err, 'MX_INVALID_NAME')) return { line, input: text, domain: null, error: err.message };
      throw err;
    }
  };
}
