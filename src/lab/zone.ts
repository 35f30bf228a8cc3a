/**
 * @module lab/zone
 * An RFC 1035 §5 master-file parser: $ORIGIN and $TTL (RFC 2308 §4), `@`, relative names, a blank owner
 * meaning the previous owner, `;` comments, parentheses across lines, quoted strings with escapes, class and
 * TTL in either order, TTL units (1h, 2d, 1w). Written by hand rather than taken from a library because the
 * lab needs exact control over what it accepts and errors that name the file, the line and the token.
 * RDATA of each type is read by dns/presentation.ts, the same module that prints it.
 */
import { readFile } from 'node:fs/promises';
import { MxError, isMxError } from '../core/errors.js';
import { isSubdomain, normalizeName } from '../dns/name.js';
import {
  PRESENTATION_TYPES,
  isPresentationType,
  isTtlToken,
  parseNameToken,
  parseRdata,
  parseTtl,
} from '../dns/presentation.js';
import type { DnsRecord } from '../dns/types.js';

/** A parsed zone: its origin, the file it came from, its SOA and every record in file order (SOA included). */
export interface Zone {
  origin: string;
  file: string | null;
  soa: DnsRecord;
  records: DnsRecord[];
}

export interface ParseZoneOptions {
  /** Used in error messages and kept as `Zone.file`. */
  file?: string;
  /** The zone origin; otherwise the first $ORIGIN, otherwise the owner of the SOA record. */
  origin?: string;
  /** TTL for records without one when the file has no $TTL. Default 3600, Knot's `default-ttl`. */
  defaultTtl?: number;
}

export interface Token {
  text: string;
  line: number;
}

export interface Entry {
  line: number;
  /** The entry's first line starts with a blank, so the owner is the previous one (RFC 1035 §5.1). */
  blankOwner: boolean;
  tokens: Token[];
}

const CLASSES = new Set(['IN', 'CH', 'CS', 'HS', 'ANY', 'NONE']);
const DEFAULT_TTL = 3600;

/** Splits the text into entries (one per record or directive), honouring quotes, escapes, comments, parens. */
/**
 * Splits master-file text into entries (RFC 1035 §5.1): one per record or directive, with the line it starts
 * on and its tokens (quoted strings keep their quotes). Throws MX_ZONE_SYNTAX naming `where(line)`.
 */
export function lex(text: string, where: (line: number) => string): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let tokens: Token[] = [];
  let cur = '';
  let curLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let parenLine = 0; // 0 when outside parentheses
  let entryLine = 1;
  let blankOwner = false;
  let atLineStart = true;

  const flushToken = () => {
    if (cur !== '') tokens.push({ text: cur, line: curLine });
    cur = '';
  };
  const flushEntry = () => {
    flushToken();
    if (tokens.length > 0) entries.push({ line: entryLine, blankOwner, tokens });
    tokens = [];
  };
  const syntax = (at: number, what: string) => new MxError('MX_ZONE_SYNTAX', `${where(at)}: ${what}`);

  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (atLineStart && parenLine === 0 && tokens.length === 0 && cur === '') {
      entryLine = line;
      blankOwner = c === ' ' || c === '\t';
    }
    atLineStart = false;
    if (quoted) {
      if (c === '\n') throw syntax(quoteLine, 'quoted string is not closed on its line');
      if (c === '\\' && i + 1 < text.length && text[i + 1] !== '\n') {
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
        if (i + 1 >= text.length || text[i + 1] === '\n') throw syntax(line, 'backslash at the end of a line');
        if (cur === '') curLine = line;
        cur += c + (text[i + 1] as string);
        i++;
        break;
      case '"':
        flushToken();
        quoted = true;
        quoteLine = line;
        curLine = line;
        cur = '"';
        break;
      case ';':
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
        break;
      case '(':
        flushToken();
        if (parenLine !== 0) throw syntax(line, `"(" inside parentheses opened on line ${parenLine}`);
        parenLine = line;
        break;
      case ')':
        flushToken();
        if (parenLine === 0) throw syntax(line, '")" without a matching "("');
        parenLine = 0;
        break;
      case '\n':
        if (parenLine === 0) flushEntry();
        else flushToken();
        line++;
        atLineStart = true;
        break;
      case ' ':
      case '\t':
      case '\r':
        flushToken();
        break;
      default:
        if (cur === '') curLine = line;
        cur += c;
    }
  }
  if (quoted) throw syntax(quoteLine, 'quoted string is not closed');
  if (parenLine !== 0) throw syntax(parenLine, '"(" is never closed');
  flushEntry();
  return entries;
}

/**
 * Parses zone-file text. Throws MxError MX_ZONE_SYNTAX (`file:line: what is wrong`) for text it cannot read,
 * MX_ZONE_CONFLICT for data that cannot be served together (a CNAME beside other data, RFC 1034 §3.6.2 and
 * RFC 2181 §10.1; a record outside the origin).
 * @example
 * const zone = parseZone('$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.53\n');
 * zone.origin // 'example.com'
 */
export function parseZone(text: string, opts: ParseZoneOptions = {}): Zone {
  const file = opts.file ?? null;
  const where = (line: number) => `${file ?? '<zone>'}:${line}`;
  const syntax = (line: number, what: string, cause?: unknown) =>
    new MxError('MX_ZONE_SYNTAX', `${where(line)}: ${what}`, cause === undefined ? undefined : { cause });

  let origin: string | null = null;
  if (opts.origin !== undefined) {
    try {
      origin = normalizeName(opts.origin, { allowRoot: true });
    } catch (err) {
      throw new MxError('MX_ZONE_SYNTAX', `${where(1)}: origin option: ${(err as Error).message}`, { cause: err });
    }
  }
  let zoneOrigin: string | null = origin;
  let ttlDefault: number | null = null;
  let owner: string | null = null;
  const records: DnsRecord[] = [];
  const lines: number[] = [];

  for (const entry of lex(text, where)) {
    const first = entry.tokens[0] as Token;
    const word = first.text.toUpperCase();
    if (!entry.blankOwner && word.startsWith('$')) {
      const args = entry.tokens.slice(1);
      switch (word) {
        case '$ORIGIN': {
          if (args.length !== 1) throw syntax(entry.line, '$ORIGIN takes one domain name');
          origin = nameOrThrow(args[0] as Token, origin, '$ORIGIN', false);
          zoneOrigin ??= origin;
          break;
        }
        case '$TTL': {
          if (args.length !== 1) throw syntax(entry.line, '$TTL takes one TTL');
          ttlDefault = fieldOrThrow(args[0] as Token, () => parseTtl((args[0] as Token).text));
          break;
        }
        case '$INCLUDE':
          throw syntax(entry.line, '$INCLUDE is not supported: put the records in this file');
        default:
          throw syntax(entry.line, `unknown directive ${JSON.stringify(first.text)} (supported: $ORIGIN, $TTL)`);
      }
      continue;
    }

    let i = 0;
    let recordOwner: string;
    if (entry.blankOwner) {
      if (owner === null) throw syntax(entry.line, 'the first record has no owner name (the line starts with a blank)');
      recordOwner = owner;
    } else {
      recordOwner = nameOrThrow(first, origin, 'owner', true);
      i = 1;
    }

    let ttl: number | null = null;
    let klass: string | null = null;
    for (let k = 0; k < 2; k++) {
      const tok = entry.tokens[i];
      if (tok === undefined) break;
      if (ttl === null && isTtlToken(tok.text)) {
        ttl = fieldOrThrow(tok, () => parseTtl(tok.text));
        i++;
      } else if (klass === null && CLASSES.has(tok.text.toUpperCase())) {
        klass = tok.text.toUpperCase();
        if (klass !== 'IN') throw syntax(tok.line, `class ${tok.text} is not supported (only IN)`);
        i++;
      } else {
        break;
      }
    }

    const typeTok = entry.tokens[i];
    if (typeTok === undefined) throw syntax(entry.line, `record for ${recordOwner || '.'} has no type`);
    const type = typeTok.text.toUpperCase();
    if (!isPresentationType(type)) {
      const what = CLASSES.has(type) || isTtlToken(typeTok.text) ? 'repeated class or TTL' : 'unknown record type';
      throw syntax(
        typeTok.line,
        `${what} ${JSON.stringify(typeTok.text)} (supported types: ${PRESENTATION_TYPES.join(', ')})`,
      );
    }
    // Without $ORIGIN or an origin option, an absolute SOA owner becomes the origin for the names that follow.
    if (type === 'SOA' && origin === null) origin = recordOwner;
    zoneOrigin ??= type === 'SOA' ? recordOwner : null;

    const rdataTokens = entry.tokens.slice(i + 1);
    let data: unknown;
    try {
      data = parseRdata(
        type,
        rdataTokens.map((t) => t.text),
        origin,
      );
    } catch (err) {
      if (!isMxError(err)) throw err;
      const line = rdataTokens[0]?.line ?? typeTok.line;
      throw syntax(line, `${type} record for ${recordOwner || '.'}: ${err.message}`, err);
    }
    owner = recordOwner;
    records.push({
      name: recordOwner,
      type,
      class: 'IN',
      ttl: ttl ?? ttlDefault ?? opts.defaultTtl ?? DEFAULT_TTL,
      data,
    });
    lines.push(entry.line);
  }

  const lastLine = text.split('\n').length;
  if (zoneOrigin === null) throw syntax(lastLine, 'no SOA record and no origin');
  return assemble(zoneOrigin, file, records, lines, where, lastLine);

  function nameOrThrow(tok: Token, base: string | null, field: string, allowWildcard: boolean): string {
    return fieldOrThrow(tok, () => parseNameToken(tok.text, base, field, { allowWildcard }));
  }

  function fieldOrThrow<T>(tok: Token, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (!isMxError(err)) throw err;
      throw syntax(tok.line, err.message, err);
    }
  }
}

function assemble(
  origin: string,
  file: string | null,
  records: DnsRecord[],
  lines: number[],
  where: (line: number) => string,
  lastLine: number,
): Zone {
  const conflict = (line: number, what: string) => new MxError('MX_ZONE_CONFLICT', `${where(line)}: ${what}`);
  let soa: DnsRecord | null = null;
  let soaLine = 0;
  const seen = new Map<string, { type: string; line: number; data: string }[]>();

  records.forEach((r, idx) => {
    const line = lines[idx] ?? 0;
    if (!isSubdomain(r.name, origin)) {
      throw conflict(line, `${r.name || '.'} is outside the zone ${origin || '.'}`);
    }
    if (r.type === 'SOA') {
      if (r.name !== origin) throw conflict(line, `SOA record at ${r.name} is not at the zone origin ${origin || '.'}`);
      if (soa)
        throw new MxError('MX_ZONE_SYNTAX', `${where(line)}: a second SOA record (the first is on line ${soaLine})`);
      soa = r;
      soaLine = line;
    }
    // RFC 1034 §3.6.2 and RFC 2181 §10.1: a name with a CNAME has no other data, and only one CNAME.
    const others = seen.get(r.name) ?? [];
    const key = JSON.stringify(r.data, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
    for (const o of others) {
      if (r.type === 'CNAME' && o.type === 'CNAME' && o.data !== key) {
        throw conflict(line, `${r.name} has a second CNAME (the first is on line ${o.line}); RFC 2181 §10.1`);
      }
      if ((r.type === 'CNAME') !== (o.type === 'CNAME')) {
        const [cname, other] = r.type === 'CNAME' ? [line, o] : [o.line, { type: r.type, line }];
        throw conflict(
          line,
          `${r.name} has a CNAME (line ${cname}) and other data (${other.type} on line ${other.line}); RFC 1034 §3.6.2`,
        );
      }
    }
    others.push({ type: r.type, line, data: key });
    seen.set(r.name, others);
  });

  if (!soa)
    throw new MxError('MX_ZONE_SYNTAX', `${where(lastLine)}: no SOA record at the zone origin ${origin || '.'}`);
  return { origin, file, soa, records };
}

/**
 * Reads and parses a zone file (see `parseZone`); `opts.file` defaults to the path.
 * @example const zone = await loadZoneFile('examples/zones/example.com.zone');
 */
export async function loadZoneFile(path: string, opts: ParseZoneOptions = {}): Promise<Zone> {
  const text = await readFile(path, 'utf8');
  return parseZone(text, { ...opts, file: opts.file ?? path });
}
