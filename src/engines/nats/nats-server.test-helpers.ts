/**
 * A private `nats-server` with JetStream for tests that kill, restart or pause NATS: its own port on
 * 127.0.0.1 and its own store directory, so the shared server on 4222 is never touched. Not part of the
 * package (test-*.ts).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../testing/ports.test-helpers.js';
import { TestServerProcess } from '../../testing/process.test-helpers.js';

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

export class TestNatsServer extends TestServerProcess {
  private constructor(port: number) {
    super(port, 'crier-nats-');
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort());
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    await this.launch(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir],
      natsAnswers,
    );
  }
}
