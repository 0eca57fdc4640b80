/**
 * `ClusterEngine`: one engine shared by the worker processes of a node:cluster app, held by the primary.
 *
 * The primary owns the real engine (a `MemoryEngine`, a `SqliteEngine`, any `Engine`) inside a
 * `ClusterEngineHost`; each worker holds a `ClusterEngine` that forwards publishes and history reads to it
 * over the IPC channel and receives every stored update once, which its hub encodes once for all of the
 * worker's connections. The contract holds across the processes because the primary is the only writer:
 *
 * - One order: the primary's engine assigns offsets; it sends each update to every worker over that
 *   worker's channel, and a channel delivers in order. So every worker sees the same updates in the same
 *   order, and a publish's reply (sent after the update) never overtakes the update.
 * - Joining history to the live stream: a read is answered on the same ordered channel as the updates, so
 *   everything the primary stored before it answered arrived before the answer, and `position` covers it.
 * - `follow` is local: the host streams every update to a worker from the moment it is attached (the
 *   supervisor attaches a worker when it is forked, before its code runs), so an update stored after
 *   `follow` returns in the worker always reaches it.
 *
 * A worker whose primary dies exits (node:cluster ends orphaned workers); its subscribers reconnect to
 * another process and resume by `Last-Event-ID` from the store.
 */
import type cluster from 'node:cluster';
import type {
  Engine,
  EngineFollower,
  EngineHealth,
  HistoryRead,
  ReadOptions,
  StoredUpdate,
  StreamPosition,
  Update,
} from '../engine.js';
import { EngineError, type EngineErrorCode } from '../errors.js';
import { limitOf } from '../paging.js';
import {
  answerRequests,
  ClusterCaller,
  type ClusterChannel,
  type ClusterReply,
  primaryChannel,
  workerChannel,
} from './channel.js';

/** The `crier` field of the engine's messages on the IPC channel. */
const KIND = 'crier:engine';

/** How long a worker waits for the primary to answer a health check before reporting not ready. */
const HEALTH_TIMEOUT_MS = 2_000;

export interface ClusterEngineOptions {
  /** The channel to the primary. Default: this worker's IPC channel (`process.send`). */
  channel?: ClusterChannel;
}

/** The worker's side: an `Engine` whose log is the primary's. */
export class ClusterEngine implements Engine {
  readonly name: string;
  private followers: EngineFollower[] = [];
  private readonly caller: ClusterCaller;
  private closed = false;

  /**
   * @param name the primary engine's name is not known before the first answer, so the worker's engine is
   *   named `cluster` unless told (`cluster(memory)`, `cluster(sqlite)` in the hub).
   */
  constructor(options: ClusterEngineOptions = {}, name = 'cluster') {
    this.name = name;
    this.caller = new ClusterCaller(options.channel ?? workerChannel(), KIND, rebuildError, (message) => {
      if (this.closed) return;
      if (message.update !== undefined) {
        const update = message.update as StoredUpdate;
        for (const follower of this.followers) {
          try {
            follower.update(update);
          } catch (error) {
            process.emitWarning(`A cluster engine follower threw: ${(error as Error)?.message ?? error}`);
          }
        }
      } else if (typeof message.reset === 'string') {
        for (const follower of this.followers) follower.reset(message.reset);
      }
    });
  }

  publish(update: Update): Promise<StoredUpdate> {
    if (this.closed) return closedRejection();
    return this.caller.call<StoredUpdate>('publish', update);
  }

  follow(follower: EngineFollower): () => void {
    this.followers = [...this.followers, follower];
    return () => {
      this.followers = this.followers.filter((f) => f !== follower);
    };
  }

  readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    if (this.closed) return closedRejection();
    try {
      limitOf(options); // a RangeError here, as from any engine, not an error rebuilt from the primary
    } catch (error) {
      return Promise.reject(error);
    }
    return this.caller.call<HistoryRead>('readAfter', lastEventId, options);
  }

  readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    if (this.closed) return closedRejection();
    try {
      limitOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.caller.call<HistoryRead & { readonly status: 'ok' }>('readAll', options);
  }

  position(): Promise<StreamPosition> {
    if (this.closed) return closedRejection();
    return this.caller.call<StreamPosition>('position');
  }

  async health(): Promise<EngineHealth> {
    if (this.closed) return { ready: false, detail: 'closed' };
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.caller.call<EngineHealth>('health'),
        new Promise<EngineHealth>((resolve) => {
          timer = setTimeout(
            () => resolve({ ready: false, detail: 'the primary process does not answer' }),
            HEALTH_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      return { ready: false, detail: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops following and answers no more calls. The primary's engine stays open for the other workers. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.followers = [];
    this.caller.close(new EngineError('ENGINE_CLOSED', 'The cluster engine is closed.'));
    return Promise.resolve();
  }
}

/**
 * The primary's side: holds the engine, follows it once, streams every update to each attached worker, and
 * answers the workers' publishes and reads.
 */
export class ClusterEngineHost {
  private readonly channels = new Set<ClusterChannel>();
  private readonly unfollow: () => void;

  constructor(readonly engine: Engine) {
    this.unfollow = engine.follow({
      update: (update) => {
        const message = { crier: KIND, update };
        for (const channel of this.channels) channel.send(message);
      },
      reset: (reason) => {
        const message = { crier: KIND, reset: reason };
        for (const channel of this.channels) channel.send(message);
      },
    });
  }

  /** Serves one worker's channel: from now on it receives every update. Returns a function that detaches it. */
  attach(channel: ClusterChannel): () => void {
    this.channels.add(channel);
    const stop = answerRequests(channel, KIND, (op, args) => this.answer(op, args));
    return () => {
      this.channels.delete(channel);
      stop();
    };
  }

  /**
   * Attaches every worker `cluster` forks from now on (on its `fork` event, before the worker's code runs,
   * so it misses no update), and detaches it when it exits. Call it in the primary before forking.
   */
  attachWorkers(clusterModule: typeof cluster): () => void {
    const detachers = new Map<number, () => void>();
    const onFork = (worker: import('node:cluster').Worker) => {
      detachers.set(worker.id, this.attach(primaryChannel(worker)));
    };
    const onExit = (worker: import('node:cluster').Worker) => {
      detachers.get(worker.id)?.();
      detachers.delete(worker.id);
    };
    clusterModule.on('fork', onFork);
    clusterModule.on('exit', onExit);
    return () => {
      clusterModule.off('fork', onFork);
      clusterModule.off('exit', onExit);
      for (const detach of detachers.values()) detach();
      detachers.clear();
    };
  }

  /** Stops serving workers and closes the engine. */
  async close(): Promise<void> {
    this.unfollow();
    this.channels.clear();
    await this.engine.close();
  }

  private answer(op: string, args: readonly unknown[]): unknown {
    const engine = this.engine;
    switch (op) {
      case 'publish':
        return engine.publish(args[0] as Update);
      case 'readAfter':
        return engine.readAfter(args[0] as string, (args[1] ?? undefined) as ReadOptions | undefined);
      case 'readAll':
        return engine.readAll((args[0] ?? undefined) as ReadOptions | undefined);
      case 'position':
        return engine.position();
      case 'health':
        return engine.health();
      default:
        throw new EngineError('INVALID_UPDATE', `Unknown cluster engine request ${JSON.stringify(op)}.`);
    }
  }
}

function closedRejection(): Promise<never> {
  return Promise.reject(new EngineError('ENGINE_CLOSED', 'The cluster engine is closed.'));
}

const ENGINE_CODES: readonly EngineErrorCode[] = [
  'ENGINE_CLOSED',
  'INVALID_UPDATE',
  'ENGINE_UNAVAILABLE',
  'DRIVER_MISSING',
];

/** The primary's error as the worker's caller sees it: an `EngineError` with its code, or the same kind. */
function rebuildError(error: NonNullable<ClusterReply['error']>): Error {
  if (error.code !== undefined && (ENGINE_CODES as readonly string[]).includes(error.code)) {
    return new EngineError(error.code as EngineErrorCode, error.message, { mayBeStored: error.mayBeStored });
  }
  if (error.name === 'RangeError') return new RangeError(error.message);
  if (error.name === 'TypeError') return new TypeError(error.message);
  return new EngineError('ENGINE_UNAVAILABLE', `The primary process failed the request: ${error.message}`);
}
