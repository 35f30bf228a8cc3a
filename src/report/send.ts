/**
 * @module report/send
 * `mxray send`: a swaks-style transcript per attempt, then a one-line verdict.
 */
import type { Delivery } from '../smtp/deliver.js';
import { renderTranscript } from '../smtp/transcript.js';
import type { TextOptions } from './style.js';
import { colors } from './style.js';

export function renderSendText(delivery: Delivery, options: TextOptions): string {
  const c = colors(options);
  const lines: string[] = [];
  delivery.attempts.forEach((a, i) => {
    const mark = a.result === 'accepted' ? c.green('✔') : a.result === 'permfail' ? c.red('✖') : c.yellow('↷');
    const what = a.reply ? `${a.reply.code} ${a.reply.text}` : (a.error ?? '');
    lines.push(
      `${mark} attempt ${i + 1}: ${c.bold(a.exchange)} [${a.address}]:${a.port} — ${a.result} at ${a.phase}${what ? `: ${what}` : ''} (${a.elapsedMs} ms)`,
    );
    lines.push(...renderTranscript(a.transcript).map((l) => `  ${c.dim(l)}`), '');
  });
  const mark =
    delivery.delivered || delivery.quitAfter ? c.green('✔') : delivery.permanent ? c.red('✖') : c.yellow('⚠');
  lines.push(`${mark} ${delivery.verdict}`);
  return lines.join('\n') + '\n';
}
