import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { until } from '../testing/wait.test-helpers.js';
import { ConnectionGuard, type ConnectionGuardOptions, readOpenFileLimit } from './connection-guard.js';

/** A TCP server whose accepted sockets go through a guard; clients connect from `localAddress`. */
async function guarded(t: TestContext, options: Partial<ConnectionGuardOptions>) {
  const guard = new ConnectionGuard({
    headersTimeoutMs: 10_000,
    maxPending: 100,
    maxPendingPerAddress: 100,
    fdReserve: 0,
    exempt: () => false,
    ...options,
  });
  const accepted: Socket[] = [];
  const server: Server = createServer((socket) => {
    accepted.push(socket);
    guard.accepted(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const clients: { socket: Socket; closed: boolean }[] = [];
  t.after(async () => {
    guard.stop();
    for (const c of clients) c.socket.destroy();
    await new Promise((r) => server.close(r));
  });
  const open = async (localAddress = '127.0.0.1') => {
    const before = accepted.length;
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const client = { socket, closed: false };
    socket.on('error', () => {});
    socket.on('close', () => {
      client.closed = true;
    });
    socket.resume();
    clients.push(client);
    await new Promise((r) => socket.once('connect', r));
    await until('the server accepted it', () => accepted.length > before || client.closed);
    return client;
  };
  return { guard, accepted, open };
}

describe('ConnectionGuard', () => {
  test('closes a connection that sends no request head within the headers timeout, and not one admitted in time', async (t) => {
    const { guard, accepted, open } = await guarded(t, { headersTimeoutMs: 200 });
    const idle = await open();
    const busy = await open();
    guard.admit(accepted[1]!);
    await until('the idle connection is closed', () => idle.closed, 3_000);
    assert.equal(busy.closed, false);
    assert.equal(guard.closedPending, 1);
  });

  test('past the per-address bound new connections from that address are closed at once; other addresses and exempt ones are not', async (t) => {
    const { guard, open } = await guarded(t, {
      maxPendingPerAddress: 2,
      exempt: (address) => address === '127.0.0.9',
    });
    const held = [await open('127.0.0.2'), await open('127.0.0.2')];
    const third = await open('127.0.0.2');
    await until('the third is closed', () => third.closed);
    const other = await open('127.0.0.3');
    const proxy = [await open('127.0.0.9'), await open('127.0.0.9'), await open('127.0.0.9')];
    assert.ok([...held, other, ...proxy].every((c) => !c.closed));
    assert.equal(guard.pendingCount, 6);
  });

  test('past the global bound the oldest pending connection is closed to make room', async (t) => {
    const { guard, open } = await guarded(t, { maxPending: 2 });
    const oldest = await open();
    const second = await open();
    const newest = await open();
    await until('the oldest is closed', () => oldest.closed);
    assert.equal(second.closed, false);
    assert.equal(newest.closed, false);
    assert.equal(guard.pendingCount, 2);
  });

  test('subscribers are allowed while open sockets stay under the open-file limit minus the reserve, at most a quarter of it', async (t) => {
    const small = new ConnectionGuard({
      headersTimeoutMs: 1000,
      maxPending: 10,
      maxPendingPerAddress: 10,
      fdReserve: 1024,
      exempt: () => false,
      openFileLimit: 1000,
    });
    t.after(() => small.stop());
    assert.equal(small.fdReserve, 250);
    assert.equal(small.maxSockets, 750);
    const { guard, open } = await guarded(t, { openFileLimit: 4, fdReserve: 1 });
    assert.equal(guard.maxSockets, 3);
    await open();
    await open();
    await open();
    assert.equal(guard.subscribersAllowed, true);
    await open();
    assert.equal(guard.subscribersAllowed, false);
  });

  test('reads the open-file limit of this process', () => {
    const limit = readOpenFileLimit();
    if (process.platform === 'linux') assert.ok(limit === undefined || limit > 0);
  });
});
