/** Helpers for tests that pause and resume real server processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * A private server process (redis-server, nats-server) on its own port on 127.0.0.1 with its own directory,
 * for tests that kill, restart or pause it: the shared servers on the standard ports are never touched.
 */
export abstract class TestServerProcess {
  readonly dir: string;
  private process: ChildProcess | undefined;

  protected constructor(
    readonly port: number,
    dirPrefix: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), dirPrefix));
  }

  /** Starts the server (again) on the same port and directory; resolves when it answers. */
  abstract restart(): Promise<void>;

  /** Spawns `command args` and waits (up to 10 s) until `answers(port)`. */
  protected async launch(
    command: string,
    args: string[],
    answers: (port: number) => Promise<boolean>,
  ): Promise<void> {
    const child = spawn(command, args, { stdio: 'ignore' });
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await answers(this.port))) {
      if (child.exitCode !== null)
        throw new Error(`${command} on port ${this.port} exited (${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`${command} on port ${this.port} did not start in 10 s`);
      await sleep(20);
    }
  }

  /** SIGKILL: no shutdown, no flush. Resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the process stops answering but its sockets stay open. */
  pause(): void {
    this.process?.kill('SIGSTOP');
    waitUntilStopped(this.process?.pid);
  }

  /** SIGCONT. */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Kills the server and removes its directory. */
  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
