/**
 * The message channel between a node:cluster worker and its primary, and a small request/reply layer on
 * it. A channel is anything that sends a serialisable message and delivers the other side's messages IN
 * ORDER: `process` in a worker (`process.send`), a `cluster.Worker` in the primary (`worker.send`), or the
 * in-process pair of `channelPair` in tests. Crier's messages carry a `crier` field naming their kind, so
 * they share the IPC channel with other users of it (prom-client's metrics requests, the app's own).
 */
import type { Worker } from 'node:cluster';

export interface ClusterChannel {
  /** Sends one message (JSON-serialisable). Messages on a channel arrive in the order they were sent. */
  send(message: object): void;
  /** Receives the other side's messages; returns a function that stops receiving. */
  onMessage(listener: (message: unknown) => void): () => void;
}

/** A request from a worker: `op` with its arguments, answered by a `ClusterReply` with the same `seq`. */
export interface ClusterRequest {
  readonly crier: string;
  readonly seq: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

/** The answer to a request: `value`, or an error described by code, message and name. */
export interface ClusterReply {
  readonly crier: string;
  readonly reply: number;
  readonly value?: unknown;
  readonly error?: {
    readonly name: string;
    readonly code?: string;
    readonly message: string;
    readonly mayBeStored?: boolean;
  };
}

/** The channel of a worker process to its primary (`process.send`); throws outside a forked worker. */
export function workerChannel(): ClusterChannel {
  const send = process.send?.bind(process);
  if (send === undefined)
    throw new Error('This process has no IPC channel to a primary (it was not forked).');
  return {
    send: (message) => {
      // A worker whose primary is gone cannot send; it is about to exit (node:cluster ends orphaned workers).
      if (process.connected) send(message);
    },
    onMessage(listener) {
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}

/** The primary's channel to one worker. */
export function primaryChannel(worker: Worker): ClusterChannel {
  return {
    send: (message) => {
      if (worker.isConnected()) worker.send(message);
    },
    onMessage(listener) {
      worker.on('message', listener);
      return () => worker.off('message', listener);
    },
  };
}

/**
 * Two connected in-process channels, for tests: each message is copied through JSON (as node:cluster's
 * default serialisation does) and delivered on a later turn of the event loop, in order.
 */
export function channelPair(): [ClusterChannel, ClusterChannel] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const end = (self: 0 | 1): ClusterChannel => ({
    send(message) {
      const copy = JSON.stringify(message);
      setImmediate(() => {
        for (const l of listeners[self === 0 ? 1 : 0]) l(JSON.parse(copy));
      });
    },
    onMessage(listener) {
      listeners[self].add(listener);
      return () => listeners[self].delete(listener);
    },
  });
  return [end(0), end(1)];
}

/** Whether `message` is one of Crier's messages of `kind`. */
export function isKind(
  message: unknown,
  kind: string,
): message is { readonly crier: string } & Record<string, unknown> {
  return typeof message === 'object' && message !== null && (message as { crier?: unknown }).crier === kind;
}

/**
 * The worker's side of request/reply: `call` sends a request and resolves with the primary's answer.
 * Calls still open when the channel is closed reject with `closedError()`.
 */
export class ClusterCaller {
  private seq = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private readonly stop: () => void;

  constructor(
    private readonly channel: ClusterChannel,
    private readonly kind: string,
    private readonly rebuild: (error: NonNullable<ClusterReply['error']>) => Error,
    onOther?: (message: Record<string, unknown>) => void,
  ) {
    this.stop = channel.onMessage((message) => {
      if (!isKind(message, kind)) return;
      if (typeof message.reply === 'number') {
        const waiter = this.waiting.get(message.reply);
        if (waiter === undefined) return;
        this.waiting.delete(message.reply);
        const reply = message as unknown as ClusterReply;
        if (reply.error !== undefined) waiter.reject(this.rebuild(reply.error));
        else waiter.resolve(reply.value);
        return;
      }
      onOther?.(message);
    });
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      const request: ClusterRequest = { crier: this.kind, seq, op, args };
      this.channel.send(request);
    });
  }

  /** Stops listening; every open call rejects with `error`. */
  close(error: Error): void {
    this.stop();
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}

/**
 * The primary's side: answers every request of `kind` on `channel` with `handle(op, args)` (a value, or a
 * thrown error sent back by code and message). Returns a function that stops answering.
 */
export function answerRequests(
  channel: ClusterChannel,
  kind: string,
  handle: (op: string, args: readonly unknown[]) => unknown,
): () => void {
  return channel.onMessage((message) => {
    if (!isKind(message, kind) || typeof message.seq !== 'number') return;
    const request = message as unknown as ClusterRequest;
    Promise.resolve()
      .then(() => handle(request.op, request.args))
      .then(
        (value) => channel.send({ crier: kind, reply: request.seq, value } satisfies ClusterReply),
        (error: unknown) => {
          const e = error as { name?: string; code?: unknown; message?: string; mayBeStored?: unknown };
          channel.send({
            crier: kind,
            reply: request.seq,
            error: {
              name: typeof e?.name === 'string' ? e.name : 'Error',
              code: typeof e?.code === 'string' ? e.code : undefined,
              message: typeof e?.message === 'string' ? e.message : String(error),
              mayBeStored: e?.mayBeStored === true ? true : undefined,
            },
          } satisfies ClusterReply);
        },
      );
  });
}
