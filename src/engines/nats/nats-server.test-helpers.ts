/**
 * A private `nats-server` with JetStream for tests that kill, restart or pause NATS: its own port on
 * 127.0.0.1 and its own store directory, so the shared server on 4222 is never touched. Not part of the
 * package (test-*.ts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../testing/ports.test-helpers.js';
import { waitUntilStopped } from '../../testing/process.test-helpers.js';

/** Whether a `nats-server` binary is on the PATH. */
export const natsServerInstalled = spawnSync('nats-server', ['--version']).status === 0;

/** Whether a NATS server with JetStream at host:port sends its INFO line within `timeoutMs`. */
export function natsAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('INFO ') && reply.includes('"jetstream":true'));
    });
  });
}

/** A stream name and subject prefix no other test run uses. */
export function uniqueStream(): { stream: string; subjectPrefix: string } {
  const tag = randomUUID().replaceAll('-', '').slice(0, 16);
  return { stream: `CRIER_TEST_${tag}`, subjectPrefix: `crier-test-${tag}` };
}

/** Deletes the engine's two streams. */
export async function deleteStreams(servers: string, stream: string): Promise<void> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [stream, `${stream}_IDS`]) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

export class TestNatsServer {
  readonly dir: string;
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'crier-nats-'));
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts the server (again) on the same port and store directory; resolves when it answers. */
  async restart(): Promise<void> {
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir], {
      stdio: 'ignore',
    });
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await natsAnswers(this.port))) {
      if (child.exitCode !== null)
        throw new Error(`nats-server on port ${this.port} exited (${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${this.port} did not start in 10 s`);
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
