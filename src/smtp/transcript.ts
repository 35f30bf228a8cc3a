/**
 * @module smtp/transcript
 * What was said on an SMTP connection, with time offsets: `C:` client lines, `S:` server lines, `*` notes
 * (connect, TLS handshake, close). Lines inside TLS are marked, as swaks does.
 */

export interface TranscriptLine {
  /** Milliseconds since the connection attempt began. */
  ms: number;
  dir: 'C' | 'S' | '*';
  tls: boolean;
  text: string;
}

/** An append-only transcript with a clock started at creation. */
export class Transcript {
  readonly lines: TranscriptLine[] = [];
  private readonly start = performance.now();

  add(dir: TranscriptLine['dir'], text: string, tls: boolean): void {
    this.lines.push({ ms: Math.round(performance.now() - this.start), dir, tls, text });
  }

  get elapsedMs(): number {
    return Math.round(performance.now() - this.start);
  }
}

/** Renders a transcript swaks-style: `<ms> S: text`, with `~>`/`<~` marking TLS. */
export function renderTranscript(lines: readonly TranscriptLine[]): string[] {
  return lines.map((l) => {
    const arrow = l.dir === '*' ? ' *' : l.dir === 'C' ? (l.tls ? '~>' : '->') : l.tls ? '<~' : '<-';
    return `${String(l.ms).padStart(6)} ms ${arrow} ${l.text}`;
  });
}
