/**
 * The life of a server the tests run as a child process (Knot, Unbound, Redis) in a throw-away directory:
 * killed if the test process dies without stopping it, and stopped (SIGTERM, then SIGKILL) with its directory
 * removed.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** Kills `child` (SIGKILL) if the test process exits while it still runs, so no server is left behind. */
export function reapOnExit(child: ChildProcess): void {
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
}

/** Stops `child` with SIGTERM (SIGKILL after 3 s) and waits for it to exit; at once if it already has. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Stops `child` (`stopChild`), then removes its directory `dir`. */
export async function stopServer(child: ChildProcess, dir: string): Promise<void> {
  await stopChild(child);
  await rm(dir, { recursive: true, force: true });
}
