/**
 * @module check/registry
 * The check modules `checkDomain` runs, by name (the name keys the module's data in the report).
 */
import { checkBlocklists } from './checks/blocklist.js';
import { checkDane } from './checks/dane.js';
import { checkDmarc } from './checks/dmarc.js';
import { checkDnssec } from './checks/dnssec.js';
import { checkMtaSts } from './checks/mta-sts.js';
import { checkMx } from './checks/mx.js';
import { checkNameservers } from './checks/nameservers.js';
import { checkProvider } from './checks/provider.js';
import { checkPtr } from './checks/ptr.js';
import { checkSmtp } from './checks/smtp.js';
import { checkSpf } from './checks/spf.js';
import { checkTlsRpt } from './checks/tls-rpt.js';
import type { Check } from './context.js';

export const CHECKS: Record<string, Check> = {
  mx: checkMx,
  nameservers: checkNameservers,
  ptr: checkPtr,
  smtp: checkSmtp,
  spf: checkSpf,
  dmarc: checkDmarc,
  'mta-sts': checkMtaSts,
  'tls-rpt': checkTlsRpt,
  dnssec: checkDnssec,
  dane: checkDane,
  provider: checkProvider,
  blocklists: checkBlocklists,
};
