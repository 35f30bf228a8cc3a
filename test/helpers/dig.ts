/**
 * Independent DNS clients for tests: Knot's `kdig` (its `+json` output, RFC 8427 style) and ISC `dig` (its
 * text output, parsed). Both return one structured shape, so a test can ask a server the same question with
 * either and compare servers question for question. Queries never recurse and never retry over TCP on TC.
 */
import { execFile, spawnSync } from 'node:child_process';

export type DigTool = 'kdig' | 'dig';

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  /** Presentation form as the tool prints it. */
  rdata: string;
  /** The RDATA octets in hex, uppercase (kdig only; '' from dig). */
  rdataHex: string;
}

export interface DigResult {
  tool: DigTool;
  rcode: string;
  flags: { qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean; ad: boolean; cd: boolean };
  question: { name: string; type: string } | null;
  answer: DigRecord[];
  authority: DigRecord[];
  /** Without the OPT pseudo-record (see `edns`). */
  additional: DigRecord[];
  edns: { udpSize: number; version: number; do: boolean; optionsHex: string; ede: number | null } | null;
  /** Message size in octets. */
  size: number;
  transport: 'udp' | 'tcp';
}

export interface DigOptions {
  tool?: DigTool;
  tcp?: boolean;
  /** EDNS payload size to advertise, or false for a query without EDNS. Default 1232. */
  bufsize?: number | false;
  dnssec?: boolean;
  timeoutSec?: number;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET'];
const rcodeName = (n: number) => (n === 9 ? 'NOTAUTH' : n === 16 ? 'BADVERS' : (RCODES[n] ?? `RCODE${n}`));

const availability = new Map<DigTool, boolean>();

/** True when the tool can be run. */
export function digAvailable(tool: DigTool = 'kdig'): boolean {
  let ok = availability.get(tool);
  if (ok === undefined) {
    ok = spawnSync(tool, [tool === 'kdig' ? '-V' : '-v'], { stdio: 'ignore' }).status === 0;
    availability.set(tool, ok);
  }
  return ok;
}

export const DIG_SKIP_REASON = (tool: DigTool) =>
  `${tool} not installed (apt-get install ${tool === 'kdig' ? 'knot-dnsutils' : 'bind9-dnsutils'})`;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err && stdout.trim() === '') reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Asks `server` one question with kdig (default) or dig.
 * @example const r = await dig(lab.dns, 'example.com', 'MX', { tcp: true });
 */
export async function dig(
  server: { host: string; port: number },
  name: string,
  type: string,
  opts: DigOptions = {},
): Promise<DigResult> {
  const tool = opts.tool ?? 'kdig';
  const transport = opts.tcp ? 'tcp' : 'udp';
  const bufsize = opts.bufsize === undefined ? 1232 : opts.bufsize;
  const common = [
    `@${server.host}`,
    '-p',
    String(server.port),
    '+norecurse',
    opts.tcp ? '+tcp' : '+notcp',
    '+ignore',
    bufsize === false ? '+noedns' : `+bufsize=${bufsize}`,
    ...(opts.dnssec ? ['+dnssec'] : []),
  ];
  if (tool === 'kdig') {
    const out = await run('kdig', [
      ...common,
      '+json',
      '+noidn',
      `+timeout=${opts.timeoutSec ?? 2}`,
      '+retry=0',
      '-t',
      type,
      name,
    ]);
    return parseKdigJson(out, transport);
  }
  const out = await run('dig', [
    ...common,
    '+nocookie',
    '+noidnin',
    '+noidnout',
    `+time=${opts.timeoutSec ?? 2}`,
    '+tries=1',
    '+noall',
    '+comments',
    '+question',
    '+answer',
    '+authority',
    '+additional',
    '+stats',
    '-t',
    type,
    name,
  ]);
  return parseDigText(out, transport);
}

interface KdigRR {
  NAME: string;
  TYPE: number;
  TYPEname?: string;
  CLASS: number;
  CLASSname?: string;
  TTL: number;
  RDATAHEX?: string;
  [key: string]: unknown;
}

// The INFO-CODE of an Extended DNS Error option (RFC 8914 §2, option code 15) in OPT RDATA.
function extendedError(rdata: Buffer): number | null {
  for (let at = 0; at + 4 <= rdata.length; at += 4 + rdata.readUInt16BE(at + 2)) {
    if (rdata.readUInt16BE(at) === 15 && rdata.readUInt16BE(at + 2) >= 2) return rdata.readUInt16BE(at + 4);
  }
  return null;
}

/** Parses kdig's `+json` output. */
export function parseKdigJson(text: string, transport: 'udp' | 'tcp'): DigResult {
  const j = JSON.parse(text) as Record<string, unknown>;
  if (j.msgLength === undefined) throw new Error(`kdig got no answer: ${text}`);
  const rr = (r: KdigRR): DigRecord => {
    const rdataKey = Object.keys(r).find((k) => k.startsWith('rdata'));
    return {
      name: r.NAME,
      ttl: r.TTL,
      class: r.CLASSname ?? String(r.CLASS),
      type: r.TYPEname ?? `TYPE${r.TYPE}`,
      rdata: rdataKey ? String(r[rdataKey]) : `\\# ${(r.RDATAHEX ?? '').length / 2} ${r.RDATAHEX ?? ''}`.trim(),
      rdataHex: r.RDATAHEX ?? '',
    };
  };
  const section = (key: string) => ((j[key] as KdigRR[] | undefined) ?? []).filter((r) => r.TYPE !== 41).map(rr);
  const opt = ((j.additionalRRs as KdigRR[] | undefined) ?? []).find((r) => r.TYPE === 41);
  let edns: DigResult['edns'] = null;
  if (opt) {
    const hex = opt.RDATAHEX ?? '';
    edns = {
      udpSize: opt.CLASS,
      version: (opt.TTL >>> 16) & 0xff,
      do: (opt.TTL & 0x8000) !== 0,
      optionsHex: hex,
      ede: extendedError(Buffer.from(hex, 'hex')),
    };
  }
  const flag = (k: string) => j[k] === 1;
  const extended = opt ? (opt.TTL >>> 24) << 4 : 0;
  return {
    tool: 'kdig',
    rcode: rcodeName(extended | Number(j.RCODE)),
    flags: {
      qr: flag('QR'),
      aa: flag('AA'),
      tc: flag('TC'),
      rd: flag('RD'),
      ra: flag('RA'),
      ad: flag('AD'),
      cd: flag('CD'),
    },
    question:
      typeof j.QNAME === 'string'
        ? { name: j.QNAME, type: typeof j.QTYPEname === 'string' ? j.QTYPEname : `TYPE${Number(j.QTYPE)}` }
        : null,
    answer: section('answerRRs'),
    authority: section('authorityRRs'),
    additional: section('additionalRRs'),
    edns,
    size: Number(j.msgLength),
    transport,
  };
}

/** Parses dig's text output (`+noall +comments +question +answer +authority +additional +stats`). */
export function parseDigText(text: string, transport: 'udp' | 'tcp'): DigResult {
  const header = /status: ([A-Z0-9]+)/.exec(text);
  if (!header) throw new Error(`dig got no answer:\n${text}`);
  const flagLine = /;; flags:([^;]*);/.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const has = (f: string) => flagLine.includes(f);
  const sections: Record<string, DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: DigRecord[] | null = null;
  let question: DigResult['question'] = null;
  let inQuestion = false;
  for (const line of text.split('\n')) {
    const head = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (head) {
      inQuestion = head[1] === 'QUESTION';
      current = inQuestion ? null : (sections[head[1] as string] ?? null);
      continue;
    }
    if (line.trim() === '') {
      current = null;
      inQuestion = false;
      continue;
    }
    if (inQuestion) {
      const q = /^;(\S+)\s+\S+\s+(\S+)/.exec(line);
      if (q) question = { name: q[1] as string, type: q[2] as string };
      continue;
    }
    if (!current || line.startsWith(';')) continue;
    const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) {
      current.push({
        name: m[1] as string,
        ttl: Number(m[2]),
        class: m[3] as string,
        type: m[4] as string,
        rdata: (m[5] as string).trim(),
        rdataHex: '',
      });
    }
  }
  const ednsLine = /; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(text);
  const ede = /; EDE: (\d+)/.exec(text);
  return {
    tool: 'dig',
    rcode: header[1] as string,
    flags: { qr: has('qr'), aa: has('aa'), tc: has('tc'), rd: has('rd'), ra: has('ra'), ad: has('ad'), cd: has('cd') },
    question,
    answer: sections.ANSWER ?? [],
    authority: sections.AUTHORITY ?? [],
    additional: sections.ADDITIONAL ?? [],
    edns: ednsLine
      ? {
          udpSize: Number(ednsLine[3]),
          version: Number(ednsLine[1]),
          do: /\bdo\b/.test(ednsLine[2] ?? ''),
          optionsHex: '',
          ede: ede ? Number(ede[1]) : null,
        }
      : null,
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(text)?.[1] ?? NaN),
    transport,
  };
}
