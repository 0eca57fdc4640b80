/**
 * A private `redis-server` for tests that kill, restart or pause Redis: its own port on 127.0.0.1 and its
 * own directory, so the shared Redis on 6379 is never touched. Not part of the package (test-*.ts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../testing/ports.test-helpers.js';
import { waitUntilStopped } from '../../testing/process.test-helpers.js';

/** Whether a `redis-server` binary is on the PATH. */
export const redisServerInstalled = spawnSync('redis-server', ['--version']).status === 0;

/** Whether something at host:port answers PING with PONG within `timeoutMs`. */
export function redisAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface TestRedisServerOptions {
  /** Keep data across a kill with an append-only file fsynced at every write. Default false (no persistence). */
  persistent?: boolean;
}

export class TestRedisServer {
  readonly dir: string;
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly options: TestRedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'crier-redis-'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: TestRedisServerOptions = {}): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort(), options);
    await server.restart();
    return server;
  }

  /** Starts the server (again) on the same port and directory; resolves when it answers PING. */
  async restart(): Promise<void> {
    const persistence = this.options.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...persistence],
      { stdio: 'ignore' },
    );
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(this.port))) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on port ${this.port} exited (${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start in 10 s`);
      await sleep(20);
    }
  }

  /** SIGKILL: no shutdown, no final save. Resolves when the process is gone. */
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
