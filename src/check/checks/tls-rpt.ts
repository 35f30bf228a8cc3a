/**
 * @module check/checks/tls-rpt
 * The TLS-RPT part of `mxray check` (RFC 8460): a record at `_smtp._tls.<domain>` tells senders where to
 * report failed TLS deliveries (§3), the only way to hear that MTA-STS or DANE is turning mail away. No record
 * is `tls-rpt.none`; a record that is malformed (or several records, which senders treat as none) is reported
 * in data with its error.
 */
import { isTlsRptRecord, parseTlsRptRecord } from '../../auth/tls-rpt/record.js';
import { lookupPolicyRecord } from '../../auth/txt.js';
import type { Check } from '../context.js';
import { finding } from '../findings.js';

/**
 * The TLS-RPT check module.
 * @example const { findings, data } = await checkTlsRpt(ctx); // data.present, data.rua
 */
export const checkTlsRpt: Check = async (ctx) => {
  const name = `_smtp._tls.${ctx.domain}`;
  const txt = await lookupPolicyRecord(ctx.resolver, name, isTlsRptRecord, { signal: ctx.signal });
  switch (txt.kind) {
    case 'failed':
      return { findings: [], data: { present: null, name, error: `the TXT look-up failed (${txt.outcome.kind})` } };
    case 'none':
      return {
        findings: [
          finding(
            'tls-rpt.none',
            ctx.domain,
            `${ctx.domain} has no TLS-RPT record, so senders have nowhere to report deliveries that failed TLS ` +
              `(RFC 8460), and you will not hear when MTA-STS or DANE turns mail away. Publish ${name} TXT ` +
              `"v=TLSRPTv1; rua=mailto:tls-reports@${ctx.domain}".`,
            { name, txt: txt.txt },
          ),
        ],
        data: { present: false, name },
      };
    case 'multiple':
      return {
        findings: [],
        data: {
          present: true,
          name,
          records: txt.records,
          error: `${txt.records.length} records start "v=TLSRPTv1"; senders then assume there is none (RFC 8460 §3): keep one`,
        },
      };
    case 'found':
      break;
  }
  const parsed = parseTlsRptRecord(txt.record);
  if (!parsed.ok) return { findings: [], data: { present: true, name, record: txt.record, error: parsed.error } };
  return {
    findings: [],
    data: {
      present: true,
      name,
      record: txt.record,
      rua: parsed.record.rua,
      extensions: parsed.record.extensions,
    },
  };
};
