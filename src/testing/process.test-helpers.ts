/** Helpers for tests that pause and resume real server processes. */
import { readFileSync } from 'node:fs';

/**
 * SIGSTOP takes effect asynchronously: waits (up to a second) until the kernel reports the process stopped,
 * so a request sent right after a pause cannot still be answered.
 */
export function waitUntilStopped(pid: number | undefined): void {
  if (pid === undefined) return;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 200; i++) {
    let state = '';
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return; // no /proc (or the process is gone): nothing to wait for
    }
    if (state === 'T' || state === 't') return;
    Atomics.wait(pause, 0, 0, 5);
  }
}
