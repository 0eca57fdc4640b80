/**
 * A private `redis-server` for tests that kill, restart or pause Redis: its own port on 127.0.0.1 and its
 * own directory, so the shared Redis on 6379 is never touched. Not part of the package (test-*.ts).
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../../testing/ports.test-helpers.js';
import { TestServerProcess } from '../../testing/process.test-helpers.js';

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

export class TestRedisServer extends TestServerProcess {
  private constructor(
    port: number,
    private readonly options: TestRedisServerOptions,
  ) {
    super(port, 'crier-redis-');
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: TestRedisServerOptions = {}): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort(), options);
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    const persistence = this.options.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    await this.launch(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...persistence],
      redisAnswers,
    );
  }
}
