/**
 * @module check/registry
 * The check modules `checkDomain` runs, by name (the name keys the module's data in the report).
 */
import { checkBlocklists } from './checks/blocklist.js';
import { checkDane } from './checks/dane.js';
import { checkDnssec } from './checks/dnssec.js';
import { checkMx } from './checks/mx.js';
import { checkNameservers } from './checks/nameservers.js';
import { checkPtr } from './checks/ptr.js';
import { checkSmtp } from './checks/smtp.js';
import type { Check } from './context.js';

export const CHECKS: Record<string, Check> = {
  mx: checkMx,
  nameservers: checkNameservers,
  ptr: checkPtr,
  smtp: checkSmtp,
  dnssec: checkDnssec,
  dane: checkDane,
  blocklists: checkBlocklists,
};
