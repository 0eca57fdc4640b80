/**
 * Server memory from /proc (Linux): the resident set of a process and its descendants (nginx's master and
 * worker, a cluster's children), in KiB. Returns undefined where /proc is not there.
 */

import { readFileSync } from 'node:fs';

function readRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /\nVmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return undefined;
  }
}

/** The pids of `pid`'s child processes (empty when it has none or is gone). */
export function childPids(pid: number): number[] {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Every process below `pid`: its children, their children, and so on. */
export function descendantPids(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendantPids(child)]);
}

/** The RSS in KiB of `pid` and every process below it. */
export function treeRssKiB(pid: number): number | undefined {
  const own = readRss(pid);
  if (own === undefined) return undefined;
  let total = own;
  for (const pid2 of descendantPids(pid)) total += readRss(pid2) ?? 0;
  return total;
}
