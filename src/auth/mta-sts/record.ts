/**
 * @module auth/mta-sts/record
 * The MTA-STS TXT record at `_mta-sts.<domain>` (RFC 8461 §3.1):
 *   sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
 *   sts-version = %s"v=STSv1"; sts-id = %s"id=" 1*32(ALPHA / DIGIT)
 *   sts-extension = sts-ext-name "=" sts-ext-value (name: alphanumeric first, then up to 31 of ALPHA DIGIT _ - .)
 * Records that do not begin with "v=STSv1;" are discarded; exactly one must remain. The `id` tells senders when
 * to fetch the policy again, so a record without a valid id makes senders treat the domain as having none.
 */

export interface MtaStsRecord {
  text: string;
  id: string;
  /** Extension fields, in order. */
  extensions: { name: string; value: string }[];
}

export type MtaStsRecordParse = { ok: true; record: MtaStsRecord } | { ok: false; error: string };

/**
 * RFC 8461 §3.1 record selection: the record begins with "v=STSv1;" (or is just the version).
 * @example isMtaStsRecord('v=STSv1; id=1') // true
 */
export function isMtaStsRecord(text: string): boolean {
  return /^v=STSv1[ \t]*(;|$)/.test(text);
}

const FIELD_DELIM = /[ \t]*;[ \t]*/;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * Parses an MTA-STS TXT record.
 * @example parseMtaStsRecord('v=STSv1; id=20260101T000000;') // { ok: true, record: { id: '20260101T000000', … } }
 */
export function parseMtaStsRecord(text: string): MtaStsRecordParse {
  if (!isMtaStsRecord(text)) return { ok: false, error: 'the record does not begin with "v=STSv1;"' };
  const fields = text.split(FIELD_DELIM).slice(1);
  if (fields.at(-1) === '') fields.pop();
  let id: string | null = null;
  const extensions: MtaStsRecord['extensions'] = [];
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${field}" is not a name=value field (RFC 8461 §3.1)` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'id') {
      if (id !== null) return { ok: false, error: 'the id field appears more than once' };
      if (!/^[A-Za-z0-9]{1,32}$/.test(value)) {
        return { ok: false, error: `id=${value} must be 1 to 32 letters and digits (RFC 8461 §3.1)` };
      }
      id = value;
      continue;
    }
    if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      return { ok: false, error: `"${field}" is not a valid field (RFC 8461 §3.1)` };
    }
    extensions.push({ name, value });
  }
  if (id === null) return { ok: false, error: 'the required id field is missing (RFC 8461 §3.1)' };
  return { ok: true, record: { text, id, extensions } };
}
