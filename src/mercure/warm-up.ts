/**
 * The warm-up at start (issue 21): a freshly started hub's first connect storm cost ~0.7 s more CPU than
 * the next one (V8 had not optimised the accept path yet, the young generation was still small), enough
 * to overflow the kernel's accept queue. `warmUp` pays that before the hub listens: a throwaway hub built
 * from the same configuration (memory store, silent logger, its own metrics registry) listens on a
 * private loopback port, and this process connects to it as subscribers, in waves, then closes it. The
 * code that runs is the hub's (accept, parse, route, auth, limits, encode, write, close); the hub that
 * will serve sees none of it: not in its metrics, subscriptions, per-address counts or logs.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import type { HubConfig } from './config.js';
import { MercureServer } from './server.js';

export interface WarmUpResult {
  /** Subscribers that got their response head. */
  readonly connects: number;
  /** Wall time spent, in milliseconds. */
  readonly ms: number;
}

/** Connects `connects` subscribers in waves of `wave` to a throwaway hub built like `config`'s. */
export async function warmUp(config: HubConfig, connects = 1_500, wave = 250): Promise<WarmUpResult> {
  const started = performance.now();
  const throwaway = await MercureServer.create(
    {
      ...config,
      host: '127.0.0.1',
      port: 0,
      publicUrl: undefined,
      adminAddr: undefined,
      tlsCert: undefined,
      tlsKey: undefined,
      // Its subscribers carry no token: the hub's own may need one.
      anonymous: true,
      maxConnectionsPerIp: wave + 1,
      maxPendingPerIp: wave + 1,
      maxPending: wave + 1,
      logLevel: 'silent',
    },
    { engine: new MemoryEngine(), logger: pino({ level: 'silent' }) },
  );
  let done = 0;
  try {
    await throwaway.listen();
    const { port, pathname } = new URL(throwaway.url);
    const head = Buffer.from(
      `GET ${pathname}?topic=warm-up HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      'latin1',
    );
    for (let at = 0; at < connects; at += wave) {
      const sockets = await Promise.all(
        Array.from({ length: Math.min(wave, connects - at) }, () => subscribe(Number(port), head)),
      );
      for (const socket of sockets) {
        if (socket !== null) done++;
        socket?.destroy();
      }
    }
    // Until the hub saw every close (its subscriber count is back to 0), or 2 s.
    for (let i = 0; i < 200 && throwaway.hub.connectionCount > 0; i++) await sleep(10);
  } finally {
    await throwaway.close();
  }
  return { connects: done, ms: performance.now() - started };
}

/** One subscriber: resolves with its socket once the response head came, or null if it failed. */
function subscribe(port: number, head: Buffer): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(head));
    socket.once('data', () => resolve(socket));
    socket.once('error', () => resolve(null));
    socket.once('close', () => resolve(null));
  });
}
