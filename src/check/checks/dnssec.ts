/**
 * @module check/checks/dnssec
 * Whether the domain's answers and each MX host's answers validate (RFC 4033 §5, RFC 4035 §4.3), asked of the
 * user's resolver with DO=1 (RFC 3225): AD set → secure (RFC 4035 §3.2.3); SERVFAIL that becomes an answer with
 * CD=1 (RFC 4035 §3.2.2) → bogus; neither → insecure. Then where the chain of trust breaks: the DS at the
 * parent against the DNSKEYs at the apex (key tags per RFC 4034 Appendix B, digests per RFC 4034 §5.1.4,
 * RFC 4509, RFC 6605), then the signatures (RRSIG validity per RFC 4034 §3.1.5, serial arithmetic RFC 1982).
 * A zone whose DS uses only digest types or algorithms we do not know is not called broken (RFC 4035 §5.2).
 */
import { createHash } from 'node:crypto';
import type { RecordType } from 'dns-packet';
import { createResolver } from '../../dns/resolver.js';
import type { CallOptions, Resolver } from '../../dns/resolver.js';
import type { DnsQuestion, DnsResponse } from '../../dns/types.js';
import type { Check } from '../context.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

// ---------------------------------------------------------------------------------------------------------------
// Pure DNSSEC arithmetic

/** DNSKEY RDATA as dns-packet decodes it (the protocol octet is always 3, RFC 4034 §2.1.2). */
export interface DnskeyData {
  flags: number;
  algorithm: number;
  key: Buffer;
}

/** DS RDATA as dns-packet decodes it (RFC 4034 §5.1). */
export interface DsData {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Buffer;
}

/** RRSIG RDATA as dns-packet decodes it (RFC 4034 §3.1). */
export interface RrsigData {
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTTL: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signersName: string;
  signature: Buffer;
}

/**
 * The wire form of a DNSKEY's RDATA: flags, protocol 3, algorithm, public key.
 * @example dnskeyRdata({ flags: 257, algorithm: 13, key }).subarray(0, 4) // <01 01 03 0d>
 */
export function dnskeyRdata(k: DnskeyData): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(k.flags, 0);
  head.writeUInt8(3, 2);
  head.writeUInt8(k.algorithm, 3);
  return Buffer.concat([head, k.key]);
}

/**
 * The key tag of a DNSKEY (RFC 4034 Appendix B): a 16-bit one's-complement-style sum over the RDATA; for
 * algorithm 1 (RSA/MD5, Appendix B.1) the 16 bits above the last octet of the modulus.
 * @example keyTag({ flags: 257, algorithm: 13, key }) // 52111
 */
export function keyTag(k: DnskeyData): number {
  const rdata = dnskeyRdata(k);
  if (k.algorithm === 1) return rdata.length >= 7 ? rdata.readUInt16BE(rdata.length - 3) : 0;
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/**
 * A name in canonical wire form (RFC 4034 §6.2: lowercase, uncompressed). Names here are hostnames.
 * @example canonicalWireName('A.test') // <01 61 04 74 65 73 74 00>
 */
export function canonicalWireName(name: string): Buffer {
  const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').toLowerCase().split('.');
  return Buffer.concat([
    ...labels.map((l) => {
      const b = Buffer.from(l, 'utf8');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
    Buffer.from([0]),
  ]);
}

// DS digest types: 1 SHA-1 (RFC 4034 §5.1.4), 2 SHA-256 (RFC 4509), 4 SHA-384 (RFC 6605). 3 (GOST) is retired.
const DIGESTS: Record<number, string> = { 1: 'sha1', 2: 'sha256', 4: 'sha384' };

/**
 * The DS digest of a DNSKEY owned by `owner`, or null for a digest type we do not implement.
 * @example dsDigest('example.com', key, 2)?.toString('hex') // the digest a `DS … 2 …` record must carry
 */
export function dsDigest(owner: string, key: DnskeyData, digestType: number): Buffer | null {
  const alg = DIGESTS[digestType];
  if (!alg) return null;
  return createHash(alg).update(canonicalWireName(owner)).update(dnskeyRdata(key)).digest();
}

/**
 * True when the DS names this key: same tag and algorithm, and the digest agrees (RFC 4035 §5.2).
 * @example dsMatchesKey('example.com', ds, key) // false after a key rollover the parent never heard of
 */
export function dsMatchesKey(owner: string, ds: DsData, key: DnskeyData): boolean {
  if (ds.keyTag !== keyTag(key) || ds.algorithm !== key.algorithm) return false;
  const digest = dsDigest(owner, key, ds.digestType);
  return digest !== null && digest.equals(ds.digest);
}

const HALF = 2 ** 31;
/**
 * `a` before `b` in RFC 1982 serial arithmetic over 32 bits (RRSIG times wrap in 2106).
 * @example serialBefore(0xfffffff0, 0x10) // true
 */
export function serialBefore(a: number, b: number): boolean {
  const d = (b - a + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < HALF;
}

const isoTime = (t: number) => new Date(t * 1000).toISOString().replace('.000', '');

/**
 * Why the signatures over one RRset cannot validate, from what is visible without checking the cryptography:
 * none, all expired, all not yet valid, or all made by keys the zone does not publish. Null when at least
 * one signature is timely and by a published key (so if validation failed, that signature does not verify).
 * @example signatureProblem([], [52111], now) // 'there is no RRSIG'
 */
export function signatureProblem(
  sigs: readonly RrsigData[],
  keyTags: readonly number[],
  nowSeconds: number,
): string | null {
  if (sigs.length === 0) return 'there is no RRSIG';
  const now = nowSeconds % 2 ** 32;
  const timely = sigs.filter((s) => !serialBefore(now, s.inception) && !serialBefore(s.expiration, now));
  if (timely.length === 0) {
    const expired = sigs.filter((s) => serialBefore(s.expiration, now));
    if (expired.length === sigs.length) {
      return `every RRSIG has expired (the last at ${isoTime(Math.max(...expired.map((s) => s.expiration)))})`;
    }
    return `no RRSIG is valid yet (the first from ${isoTime(Math.min(...sigs.map((s) => s.inception)))}); check the signer's clock`;
  }
  if (!timely.some((s) => keyTags.includes(s.keyTag))) {
    return `the RRSIGs are by key tag ${[...new Set(timely.map((s) => s.keyTag))].join(', ')}, which the zone does not publish`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Asking

/** The user's resolver twice over: validating with DO=1, and the same with CD=1 (no checking). */
export interface DnssecResolvers {
  validating: Resolver;
  unchecked: Resolver;
}

/**
 * Sibling resolvers over the same servers as `resolver`, asking for DNSSEC records (DO=1).
 * @example const { validating, unchecked } = dnssecResolvers(ctx.resolver);
 */
export function dnssecResolvers(resolver: Resolver): DnssecResolvers {
  const servers = [...resolver.servers];
  return {
    validating: createResolver({ servers, dnssecOk: true }),
    unchecked: createResolver({ servers, dnssecOk: true, checkingDisabled: true }),
  };
}

export type ValidationStatus = 'secure' | 'insecure' | 'bogus' | 'error';

export interface QuestionValidation {
  type: RecordType;
  status: ValidationStatus;
  /** RCODE of the validated reply (SERVFAIL when bogus), null when no reply came. */
  rcode: string | null;
  /** Why the status is `error`, else null. */
  error: string | null;
  /** The reply that carries the data: the validated one, or the CD=1 one when validation failed. */
  response: DnsResponse | null;
}

const ANSWERED = new Set(['NOERROR', 'NXDOMAIN']);

/**
 * Asks one question with validation and, on SERVFAIL, again with CD=1: an answer then means the data is
 * there but does not validate (bogus); SERVFAIL again means a plain DNS failure, not DNSSEC.
 * @example (await validateQuestion(dnssecResolvers(resolver), { name: 'example.com', type: 'MX' })).status // 'secure'
 */
export async function validateQuestion(
  r: DnssecResolvers,
  question: DnsQuestion,
  call: CallOptions = {},
): Promise<QuestionValidation> {
  const v = await r.validating.query(question, call);
  const base = { type: question.type };
  if (v.kind !== 'response') {
    const error = v.kind === 'timeout' ? `no reply from ${v.server} within ${v.timeoutMs} ms` : v.error;
    return { ...base, status: 'error', rcode: null, error, response: null };
  }
  const rcode = v.response.rcode;
  if (ANSWERED.has(rcode)) {
    return { ...base, status: v.response.flags.ad ? 'secure' : 'insecure', rcode, error: null, response: v.response };
  }
  if (rcode === 'SERVFAIL') {
    const c = await r.unchecked.query(question, call);
    if (c.kind === 'response' && ANSWERED.has(c.response.rcode)) {
      return { ...base, status: 'bogus', rcode, error: null, response: c.response };
    }
  }
  return { ...base, status: 'error', rcode, error: `${rcode} from ${v.server}`, response: null };
}

const recordsOf = <T>(resp: DnsResponse | null, type: string, owner?: string): T[] =>
  (resp?.answers ?? [])
    .filter((a) => a.type === type && (owner === undefined || a.name === owner))
    .map((a) => a.data as T);

const signaturesOf = (resp: DnsResponse | null, covered: string): RrsigData[] =>
  [...(resp?.answers ?? []), ...(resp?.authority ?? [])]
    .filter((a) => a.type === 'RRSIG')
    .map((a) => a.data as RrsigData)
    .filter((s) => s.typeCovered === covered);

// ---------------------------------------------------------------------------------------------------------------
// The chain of one zone

export interface DsView {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: string;
  /** Key tag of the apex DNSKEY this DS matches (tag, algorithm and digest), else null. */
  matchesKey: number | null;
  /** False for a digest type we cannot compute (such a DS neither matches nor breaks anything). */
  supported: boolean;
}

export interface DnskeyView {
  keyTag: number;
  flags: number;
  algorithm: number;
  /** The SEP bit (RFC 4034 §2.1.1): a key-signing key by convention. */
  sep: boolean;
  /** Named by a DS at the parent. */
  matchedByDs: boolean;
}

/** What the parent's DS and the apex's DNSKEY say about one zone. */
export interface ChainFacts {
  zone: string | null;
  ds: { present: boolean | null; status: ValidationStatus; records: DsView[]; error: string | null };
  dnskey: { present: boolean | null; status: ValidationStatus; keys: DnskeyView[]; error: string | null };
  /** Signatures over the DNSKEY RRset (for diagnosis; not reported). */
  dnskeySignatures: RrsigData[];
}

/**
 * Reads DS and DNSKEY facts from the two validated-or-unchecked replies. Pure.
 * @example chainFacts('example.com', await validateQuestion(r, ds), await validateQuestion(r, dnskey)).ds.present
 */
export function chainFacts(zone: string, ds: QuestionValidation, dnskey: QuestionValidation): ChainFacts {
  const keys = recordsOf<DnskeyData>(dnskey.response, 'DNSKEY', zone).filter((k) => k.flags & 0x0100);
  const dsRecords = recordsOf<DsData>(ds.response, 'DS', zone);
  const dsViews: DsView[] = dsRecords.map((d) => {
    const match = keys.find((k) => dsMatchesKey(zone, d, k));
    return {
      keyTag: d.keyTag,
      algorithm: d.algorithm,
      digestType: d.digestType,
      digest: d.digest.toString('hex').toUpperCase(),
      matchesKey: match ? keyTag(match) : null,
      supported: DIGESTS[d.digestType] !== undefined,
    };
  });
  const matched = new Set(dsViews.map((d) => d.matchesKey).filter((t): t is number => t !== null));
  const present = (q: QuestionValidation, n: number) => (q.response ? n > 0 : null);
  return {
    zone,
    ds: { present: present(ds, dsRecords.length), status: ds.status, records: dsViews, error: ds.error },
    dnskey: {
      present: present(dnskey, keys.length),
      status: dnskey.status,
      keys: keys.map((k) => {
        const tag = keyTag(k);
        return {
          keyTag: tag,
          flags: k.flags,
          algorithm: k.algorithm,
          sep: (k.flags & 1) === 1,
          matchedByDs: matched.has(tag),
        };
      }),
      error: dnskey.error,
    },
    dnskeySignatures: signaturesOf(dnskey.response, 'DNSKEY'),
  };
}

/**
 * Where validation breaks, top down: the parent's DS answer; a DS with no DNSKEY, or none matching; the
 * DNSKEY RRset's signatures; the RRset's own signatures.
 */
export type BreakPoint = 'parent' | 'ds-no-dnskey' | 'ds-mismatch' | 'dnskey-signature' | 'signature' | 'unknown';

const tags = (list: readonly { keyTag: number; algorithm: number }[]) =>
  list.map((x) => `${x.keyTag} (algorithm ${x.algorithm})`).join(', ');

/**
 * The first broken link of a zone's chain that the DS and DNSKEY facts show, or null when they show none.
 * Pure: the facts are what the resolver returned.
 * @example chainBreak(facts, now)?.at // 'ds-mismatch'
 */
export function chainBreak(f: ChainFacts, nowSeconds: number): { at: BreakPoint; explanation: string } | null {
  const zone = f.zone ?? 'the zone';
  if (f.ds.status === 'bogus') {
    return {
      at: 'parent',
      explanation: `the parent's answer for the DS of ${zone} does not validate itself: the chain breaks above ${zone}, in the parent zone`,
    };
  }
  const supported = f.ds.records.filter((d) => d.supported);
  if (supported.length > 0 && f.dnskey.present === false) {
    return {
      at: 'ds-no-dnskey',
      explanation: `the parent publishes DS ${tags(supported)} for ${zone}, but ${zone} publishes no DNSKEY`,
    };
  }
  if (supported.length > 0 && f.dnskey.present && supported.every((d) => d.matchesKey === null)) {
    return {
      at: 'ds-mismatch',
      explanation: `the parent publishes DS ${tags(supported)} for ${zone}, but no DNSKEY of ${zone} matches it (its keys: ${tags(f.dnskey.keys)})`,
    };
  }
  if (f.dnskey.status === 'bogus') {
    const signers = f.dnskey.keys.filter((k) => k.matchedByDs).map((k) => k.keyTag);
    const why = signatureProblem(f.dnskeySignatures, signers, nowSeconds);
    return {
      at: 'dnskey-signature',
      explanation: `the DNSKEY RRset of ${zone} is not validly signed by a key the DS names (${signers.join(', ') || 'none'}): ${why ?? 'its signature does not verify'}`,
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// The check

export interface QuestionReport {
  type: RecordType;
  status: ValidationStatus;
  rcode: string | null;
  error: string | null;
}

/** The `dnssec` data for one name. */
export interface DnssecNameReport {
  name: string;
  roles: Array<'domain' | 'exchange'>;
  /** Every question answered with AD set. */
  secure: boolean;
  /** A question failed validation (SERVFAIL, and an answer with CD=1). */
  bogus: boolean;
  questions: QuestionReport[];
  /** The zone the name is in (owner of the SOA that came back), null when unknown. */
  zone: string | null;
  ds: ChainFacts['ds'] | null;
  dnskey: ChainFacts['dnskey'] | null;
  brokenAt: BreakPoint | null;
  /** Where and why the chain breaks, in words; null when it does not. */
  explanation: string | null;
}

function zoneOf(resp: DnsResponse | null): string | null {
  const soa = [...(resp?.answers ?? []), ...(resp?.authority ?? [])].find((r) => r.type === 'SOA');
  return soa ? soa.name : null;
}

const FIX: Record<BreakPoint, string> = {
  parent: 'Fix the parent zone first (its signatures, or its own DS); this zone validates again once the parent does.',
  'ds-no-dnskey':
    'Sign the zone again with the key the DS names, or, to go unsigned, remove the DS at the registrar first and wait out its TTL.',
  'ds-mismatch':
    'Publish the DS of the current key-signing key at the registrar (or in the parent zone) and remove the stale DS, or put the old key back until the new DS is live.',
  'dnskey-signature': 'Re-sign the DNSKEY RRset with the key-signing key the DS names (check the signer is running).',
  signature:
    'Re-sign the zone (check that the signer runs, that its clock is right and that nothing edits the signed zone afterwards).',
  unknown:
    'Check the zone with a DNSSEC debugger (e.g. dnsviz) and re-sign it; fix the DS at the parent if it is stale.',
};

/**
 * `check` module: DNSSEC status of the domain (SOA, MX) and of each MX host's address records.
 * @example
 * const out = await checkDnssec(ctx);
 * out.data.names // [{ name: 'example.com', secure: true, bogus: false, ds: …, dnskey: …, brokenAt: null }, …]
 */
export const checkDnssec: Check = async (ctx) => {
  const r = dnssecResolvers(ctx.resolver);
  const call: CallOptions = { signal: ctx.signal };
  const nowSeconds = Math.floor(ctx.now / 1000);

  const asked = new Map<string, Promise<QuestionValidation>>();
  const ask = (name: string, type: RecordType) => {
    const key = `${name}|${type}`;
    let p = asked.get(key);
    if (!p) asked.set(key, (p = validateQuestion(r, { name, type }, call)));
    return p;
  };
  const zones = new Map<string, Promise<ChainFacts>>();
  const chainOf = (zone: string) => {
    let p = zones.get(zone);
    if (!p)
      zones.set(
        zone,
        (p = Promise.all([ask(zone, 'DS'), ask(zone, 'DNSKEY')]).then(([d, k]) => chainFacts(zone, d, k))),
      );
    return p;
  };

  // Which names, with which questions: the domain's SOA and MX; every exchange's address records.
  const targets = new Map<string, { roles: Set<'domain' | 'exchange'>; types: Set<RecordType> }>();
  const add = (name: string, role: 'domain' | 'exchange', types: RecordType[]) => {
    const t = targets.get(name) ?? { roles: new Set(), types: new Set() };
    t.roles.add(role);
    for (const type of types) t.types.add(type);
    targets.set(name, t);
  };
  add(ctx.domain, 'domain', ['SOA', 'MX']);
  for (const h of ctx.route.hosts) {
    const types: RecordType[] = [];
    if (h.ipv4.length > 0) types.push('A');
    if (h.ipv6.length > 0) types.push('AAAA');
    add(h.exchange, 'exchange', types.length > 0 ? types : ['A']);
  }

  const names: DnssecNameReport[] = await Promise.all(
    [...targets].map(async ([name, t]) => {
      const types = [...t.types];
      const questions = await Promise.all(types.map((type) => ask(name, type)));
      // The SOA question locates the zone: the SOA itself at an apex, in the authority section elsewhere.
      const locator = await ask(name, 'SOA');
      const zone = zoneOf(locator.response);
      const facts = zone === null ? null : await chainOf(zone);
      const bogusQuestions = questions.filter((q) => q.status === 'bogus');
      const secure = questions.every((q) => q.status === 'secure');
      let broken = facts && !secure ? chainBreak(facts, nowSeconds) : null;
      if (!broken && bogusQuestions.length > 0) {
        const keyTags = facts?.dnskey.keys.map((k) => k.keyTag) ?? [];
        const problems = bogusQuestions.map((q) => {
          const why = signatureProblem(signaturesOf(q.response, q.type), keyTags, nowSeconds);
          return `the signature over ${name} ${q.type}: ${why ?? 'the RRSIG does not verify (damaged, or made over other data)'}`;
        });
        broken = { at: 'signature', explanation: problems.join('; ') };
      }
      return {
        name,
        roles: [...t.roles],
        secure,
        bogus: bogusQuestions.length > 0,
        questions: questions.map((q) => ({ type: q.type, status: q.status, rcode: q.rcode, error: q.error })),
        zone,
        ds: facts?.ds ?? null,
        dnskey: facts?.dnskey ?? null,
        brokenAt: broken?.at ?? null,
        explanation: broken?.explanation ?? null,
      };
    }),
  );

  const findings: Finding[] = [];
  for (const n of names) {
    if (!n.bogus) continue;
    const failing = n.questions.filter((q) => q.status === 'bogus').map((q) => q.type);
    const what = n.roles.includes('domain')
      ? 'senders that validate cannot look up its MX records: mail to it waits in queues, then bounces'
      : 'senders that validate cannot find its address and skip this MX host';
    const via = `${n.name} (${failing.join(', ')}) fails DNSSEC validation: validating resolvers return SERVFAIL`;
    const at = n.brokenAt ?? 'unknown';
    findings.push(
      finding(
        'dnssec.bogus',
        n.name,
        `${via}, so ${what}. Where the chain breaks: ${n.explanation ?? 'not visible in the DS and DNSKEY answers'}. ${FIX[at]}`,
        {
          name: n.name,
          zone: n.zone,
          types: failing,
          brokenAt: at,
          ds: n.ds?.records.map((d) => d.keyTag) ?? [],
          dnskey: n.dnskey?.keys.map((k) => k.keyTag) ?? [],
        },
      ),
    );
  }

  // One `unsigned` per zone: every answer insecure and no DS at the parent (RFC 4035 §5.2). With a DS there,
  // insecure answers mean the resolver does not validate or a zone above is unsigned; the data shows which
  // link is missing, but that is no finding about this zone.
  const unsigned = new Map<string, DnssecNameReport[]>();
  for (const n of names) {
    if (n.zone === null || n.ds?.present === true || n.questions.some((q) => q.status !== 'insecure')) continue;
    unsigned.set(n.zone, [...(unsigned.get(n.zone) ?? []), n]);
  }
  for (const [zone, list] of unsigned) {
    const facts = list[0]!;
    const keys = facts.dnskey?.present === true;
    const message = keys
      ? `${zone} has DNSKEY records but the parent publishes no DS for it, so validators treat ${list.map((n) => n.name).join(', ')} as unsigned. Publish the DS of its key-signing key at the registrar to link the chain of trust.`
      : `${zone} is not signed with DNSSEC, so answers for ${list.map((n) => n.name).join(', ')} cannot be authenticated (and DANE cannot be used). Sign the zone (most DNS hosts offer it) and publish its DS at the registrar.`;
    findings.push(
      finding('dnssec.unsigned', zone, message, {
        zone,
        names: list.map((n) => n.name),
        dnskey: keys,
        ds: facts.ds?.present ?? null,
      }),
    );
  }

  const anyAd = names.some((n) => n.questions.some((q) => q.status === 'secure'));
  const anyBogus = names.some((n) => n.questions.some((q) => q.status === 'bogus'));
  return {
    findings,
    data: {
      // A resolver that never sets AD nor SERVFAILs on bogus data may simply not validate.
      resolverValidates: anyAd || anyBogus ? true : null,
      names,
    },
  };
};
