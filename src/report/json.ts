/**
 * @module report/json
 * JSON output: Buffers (TLSA certificates, DNSKEY keys, unknown rdata) become lowercase hex strings, so every
 * `--json` shape is plain JSON.
 */

/** Serializes a result as indented JSON, with Buffers as hex. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2);
}

function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
    const data = (value as { data?: unknown }).data;
    if (Array.isArray(data)) return Buffer.from(data as number[]).toString('hex');
  }
  return value;
}
