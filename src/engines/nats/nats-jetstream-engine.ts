/**
 * The NATS JetStream engine: many hub nodes share one log, a JetStream stream, so a publish on any node
 * reaches subscribers on every node and any node replays any client's history.
 *
 * - Append: one JetStream publish. The acknowledged stream sequence is the offset. The stream only ever
 *   loses messages from its front (limits `max_msgs`, `max_bytes`, `max_age`, discard old, no per-subject
 *   limit), so sequences of what is kept are consecutive. A generated ID is `<epoch>-<sequence>`.
 * - Epoch: derived from the stream's name and creation time (`created` in the stream info), so a stream
 *   deleted and recreated (or lost with a server's store) is a new epoch.
 * - Publisher IDs: the update goes to the subject `<prefix>.i.<sha256(id)>` (generated IDs: `<prefix>.g`),
 *   so the stream's own subject index finds the earliest update with an ID (a direct get `next_by_subj`;
 *   Mercure §7: a reused ID names the earliest), atomically with the publish. A second, small stream
 *   (`<name>_IDS`, one message per ID, bounds ten times the history's) remembers IDs that were stored
 *   once, so a trimmed publisher ID reads `expired` rather than `unknown`. It cannot tell that an earlier
 *   update with a reused ID was trimmed while a later one is kept: that ID then names the later one.
 * - Follow: one ordered pull consumer per engine, from the newest sequence known when following starts.
 *   It recreates itself after a reconnect or a server restart from the last sequence it delivered, so the
 *   live stream resumes with no gap and no duplicate; the engine calls `reset` only when the sequences it
 *   gets skip some (history it needed was trimmed meanwhile) or the epoch changed.
 * - Read: direct gets of the sequences after the ID's, up to the stream's last sequence read first, which
 *   is the `position`.
 * - Faults: publishing while disconnected rejects at once with `ENGINE_UNAVAILABLE`; a server that does
 *   not answer (paused, overloaded) makes publishes reject after `requestTimeoutMs`, with `mayBeStored`
 *   set: the server may store what it already received when it runs again.
 *
 * See docs/nats.md for the subjects, the guarantees and measured costs.
 */
import { createHash } from 'node:crypto';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import {
  DEFAULT_HISTORY_MAX_AGE_MS,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_COUNT,
} from '../../history/ring.js';
import { importDriver } from '../driver.js';
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
import { EngineError } from '../errors.js';
import { continueAfter, limitOf } from '../paging.js';

// The NATS client is an optional peer dependency, loaded with this module (src/engines/driver.ts).
const NATS_PACKAGES = ['@nats-io/jetstream', '@nats-io/transport-node'];
const { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } =
  await importDriver<typeof import('@nats-io/jetstream')>(
    '@nats-io/jetstream',
    'The NATS engine',
    NATS_PACKAGES,
  );
const { connect } = await importDriver<typeof import('@nats-io/transport-node')>(
  '@nats-io/transport-node',
  'The NATS engine',
  NATS_PACKAGES,
);

export interface NatsJetStreamEngineOptions {
  /** NATS servers, `host:port` or `nats://host:port`. Default `127.0.0.1:4222`. Ignored with `connection`. */
  servers?: string | string[];
  /** Further connection options (credentials, TLS, name). The engine sets its own reconnect and ping timing. */
  connectOptions?: Partial<ConnectionOptions>;
  /**
   * A connection to use instead of opening one. The engine does not close it; its reconnect settings are
   * the caller's (keep reconnecting forever for a hub).
   */
  connection?: NatsConnection;
  /** The stream's name. Engines with the same stream name on the same NATS share one log. Default `CRIER`. */
  stream?: string;
  /** The subject prefix of the stream (`<prefix>.g`, `<prefix>.i.*`, `<prefix>.seen.*`). Default `crier`. */
  subjectPrefix?: string;
  /** History bounds; each has a finite default (10,000 updates, 64 MiB, 1 hour), as in the memory engine. */
  history?: {
    /** Most updates kept (the stream's `max_msgs`). Default 10,000. */
    maxCount?: number;
    /** Most bytes kept (the stream's `max_bytes`, as NATS counts them). Default 64 MiB. */
    maxBytes?: number;
    /** Updates older than this are dropped (`max_age`, by the server's clock), in milliseconds. Default 1 hour. */
    maxAgeMs?: number;
  };
  /** `file` (default: survives a server restart) or `memory`. */
  storage?: 'file' | 'memory';
  /** Stream replicas in a NATS cluster. Default 1. */
  replicas?: number;
  /**
   * How long a publish or a read may wait for NATS before it is rejected with `ENGINE_UNAVAILABLE`, in
   * milliseconds. Default 2,000.
   */
  requestTimeoutMs?: number;
  /** How often the follower checks the stream's epoch while idle, in milliseconds. Default 2,000. */
  epochCheckMs?: number;
}

/** What the stream stores for one update (the message body, JSON). */
interface Body {
  /** topics */
  t: string[];
  /** data */
  d: string;
  /** the publisher's ID, absent for a generated one */
  i?: string;
  /** event */
  e?: string;
  /** retry */
  r?: number;
  /** private */
  p?: boolean;
  /** time stored, ms since the Unix epoch (the publishing node's clock) */
  ms: number;
}

/** Reads of more updates than this use an ephemeral ordered consumer; shorter ones, direct gets. */
const CONSUMER_READ = 32;
const GENERATED_ID = /^([0-9a-z]{8})-([1-9][0-9]{0,15})$/;

export class NatsJetStreamEngine implements Engine {
  readonly name = 'nats';
  readonly streamName: string;
  readonly subjectPrefix: string;
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /**
   * Resolves once the engine reached NATS and made sure its streams exist; publishes and reads wait for
   * it. Rejects when that failed (each later call tries again).
   */
  get ready(): Promise<void> {
    return this.init().then(() => undefined);
  }

  private readonly options: NatsJetStreamEngineOptions;
  private readonly requestTimeoutMs: number;
  private readonly epochCheckMs: number;
  private readonly idsStream: string;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private initializing: Promise<Connected> | undefined;
  private connected: Connected | undefined;
  private closed = false;
  /** The current epoch and the stream's creation time it comes from ('' before the first stream info). */
  private epoch = '';
  private created = '';
  /** The newest sequence this engine knows to be stored in the current epoch. */
  private knownLast = 0;
  /** The sequence of this engine's newest acknowledged publish. */
  private lastAcked = 0;
  /** Whether the connection is down (between a disconnect and a reconnect). */
  private down = false;

  // The live stream.
  private followers: EngineFollower[] = [];
  private live: ConsumerMessages | undefined;
  private liveStarting: Promise<void> | undefined;
  /** The sequence last handed to followers, 0 before the first. */
  private liveLast = 0;
  private liveEpoch = '';
  private epochTimer: NodeJS.Timeout | undefined;

  constructor(options: NatsJetStreamEngineOptions = {}) {
    this.options = options;
    this.streamName = options.stream ?? 'CRIER';
    if (!/^[A-Za-z0-9_-]+$/.test(this.streamName))
      throw new EngineError(
        'INVALID_UPDATE',
        `Stream name "${this.streamName}": use letters, digits, _ and -.`,
      );
    this.idsStream = `${this.streamName}_IDS`;
    this.subjectPrefix = options.subjectPrefix ?? 'crier';
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(this.subjectPrefix))
      throw new EngineError(
        'INVALID_UPDATE',
        `Subject prefix "${this.subjectPrefix}": use dot-separated tokens of letters, digits, _ and -.`,
      );
    this.maxCount = positive('maxCount', options.history?.maxCount ?? DEFAULT_HISTORY_MAX_COUNT);
    this.maxBytes = positive('maxBytes', options.history?.maxBytes ?? DEFAULT_HISTORY_MAX_BYTES);
    this.maxAgeMs = positive('maxAgeMs', options.history?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS);
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 2000);
    this.epochCheckMs = positive('epochCheckMs', options.epochCheckMs ?? 2000);
    // Start connecting now; a failure is reported by the calls that need the connection.
    this.init().catch(() => {});
  }

  async publish(update: Update): Promise<StoredUpdate> {
    if (this.closed) throw closedError();
    if (update.topics.length === 0)
      throw new EngineError('INVALID_UPDATE', 'An update needs at least one topic.');
    const c = await this.init();
    if (this.down) throw this.unavailable('the connection is down');
    const time = Date.now();
    const body: Body = { t: [...update.topics], d: update.data, ms: time };
    if (update.id !== undefined) body.i = update.id;
    if (update.event !== undefined) body.e = update.event;
    if (update.retry !== undefined) body.r = update.retry;
    if (update.private !== undefined) body.p = update.private;
    const payload = this.encoder.encode(JSON.stringify(body));
    const idHash = update.id === undefined ? undefined : hashId(update.id);
    const subject = idHash === undefined ? `${this.subjectPrefix}.g` : `${this.subjectPrefix}.i.${idHash}`;
    // The "seen" record goes out with the publish: it only decides expired vs unknown for a trimmed ID,
    // so it may fail without failing the publish.
    const seen =
      idHash === undefined
        ? undefined
        : c.js
            .publish(`${this.subjectPrefix}.seen.${idHash}`, undefined, { timeout: this.requestTimeoutMs })
            .catch(() => undefined);
    let seq: number;
    try {
      const ack = await c.js.publish(subject, payload, { timeout: this.requestTimeoutMs, retries: 1 });
      if (ack.stream !== this.streamName) throw new Error(`acked by stream ${ack.stream}`);
      seq = ack.seq;
    } catch (error) {
      if (this.closed) throw closedError();
      if (isStreamMissing(error)) {
        this.recreateSoon();
        throw this.unavailable('no stream took the publish, so it was not stored', error);
      }
      // Sent but not acknowledged: NATS may store it yet (a paused server reads its socket on SIGCONT).
      throw this.unavailable(
        "the publish was not acknowledged in time and may have been stored; retry with the update's own id",
        error,
        true,
      );
    } finally {
      await seen;
    }
    // Acks on one connection come in order: a sequence that went backwards means the stream was
    // recreated under us, so learn the new epoch before answering.
    if (seq <= this.lastAcked) await this.refreshEpoch(c).catch(() => {});
    this.lastAcked = seq;
    if (seq > this.knownLast) this.knownLast = seq;
    return toStored(body, update.id ?? `${this.epoch}-${seq}`, seq, this.epoch);
  }

  follow(follower: EngineFollower): () => void {
    this.followers = [...this.followers, follower];
    if (this.live === undefined && this.liveStarting === undefined && !this.closed) {
      // Follow from the newest sequence known now: every update stored after this call has a larger one.
      const from = this.connected ? this.knownLast : undefined;
      this.liveStarting = this.startLive(from).finally(() => {
        this.liveStarting = undefined;
      });
    }
    return () => {
      this.followers = this.followers.filter((f) => f !== follower);
    };
  }

  async readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    if (this.closed) throw closedError();
    const limit = limitOf(options);
    const c = await this.init();
    const hash = lastEventId === '' ? undefined : hashId(lastEventId);
    // The earliest update with this ID still in the stream (Mercure §7: a reused ID names the earliest;
    // replay sends all after it, later copies included): the first message on the ID's subject.
    const [info, byId] = await Promise.all([
      this.streamInfo(c),
      hash === undefined
        ? null
        : this.direct(c, this.streamName, { seq: 1, next_by_subj: `${this.subjectPrefix}.i.${hash}` }),
    ]);
    const state = info.state;
    const position = { epoch: this.epoch, offset: state.last_seq };
    const found = byId === null ? undefined : this.parse(byId);
    const copy = found !== undefined && found.i === lastEventId ? byId!.seq : undefined;

    const generated = GENERATED_ID.exec(lastEventId);
    if (generated !== null) {
      const seq = Number(generated[2]);
      if (generated[1] !== this.epoch) {
        if (copy === undefined) return { status: 'expired', position };
      } else if (seq > state.last_seq) {
        if (copy === undefined) return { status: 'unknown', position };
      } else if (copy === undefined || seq < copy) {
        // The generated ID comes before any publisher's reuse of it.
        if (seq < state.first_seq || state.messages === 0) {
          // Gone. When it is the newest update and younger than the age bound, nothing after it is missing:
          // it was removed only because it alone is larger than the byte bound.
          const lastTime = Date.parse(state.last_ts);
          if (copy === undefined && seq === state.last_seq && Date.now() - lastTime < this.maxAgeMs)
            return { status: 'ok', updates: [], position };
          return { status: 'expired', position };
        }
        const read = await this.readRange(c, seq, state.last_seq, true, limit);
        // `unknown`: the update at that sequence had a publisher's ID, so this one was never generated.
        if (read.status !== 'unknown' || copy === undefined) return read;
      }
    }
    if (copy !== undefined) return this.readRange(c, copy, state.last_seq, false, limit);
    if (hash !== undefined) {
      const seen = await this.direct(c, this.idsStream, {
        last_by_subj: `${this.subjectPrefix}.seen.${hash}`,
      });
      if (seen !== null) return { status: 'expired', position };
    }
    return { status: 'unknown', position };
  }

  async readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    if (this.closed) throw closedError();
    const limit = limitOf(options);
    const c = await this.init();
    for (let attempt = 0; ; attempt++) {
      const { state } = await this.streamInfo(c);
      const from = Math.max(state.first_seq - 1, continueAfter(options, this.epoch));
      if (state.messages === 0 || from >= state.last_seq)
        return { status: 'ok', updates: [], position: { epoch: this.epoch, offset: state.last_seq } };
      const read = await this.readRange(c, from, state.last_seq, false, limit);
      if (read.status === 'ok') return read;
      // The front was trimmed while reading: read again from the new front.
      if (attempt >= 3) throw this.unavailable('history kept moving while it was read');
    }
  }

  async position(): Promise<StreamPosition> {
    if (this.closed) throw closedError();
    const c = await this.init();
    const { state } = await this.streamInfo(c);
    return { epoch: this.epoch, offset: state.last_seq };
  }

  async health(): Promise<EngineHealth> {
    if (this.closed) return { ready: false, detail: 'closed' };
    try {
      const c = await this.init();
      if (this.down) return { ready: false, detail: 'disconnected from NATS' };
      await this.streamInfo(c);
      return { ready: true, detail: `stream ${this.streamName}, epoch ${this.epoch}` };
    } catch (error) {
      return { ready: false, detail: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.followers = [];
    clearInterval(this.epochTimer);
    const c = this.connected ?? (await this.initializing?.catch(() => undefined));
    await this.liveStarting?.catch(() => {});
    this.live?.stop();
    this.live = undefined;
    if (c !== undefined && this.options.connection === undefined) await c.nc.close().catch(() => {});
  }

  // --- Connection and streams -------------------------------------------------------------------------

  private init(): Promise<Connected> {
    if (this.closed) return Promise.reject(closedError());
    if (this.connected !== undefined) return Promise.resolve(this.connected);
    this.initializing ??= this.connect().then(
      (c) => {
        this.connected = c;
        return c;
      },
      (error: unknown) => {
        this.initializing = undefined;
        throw error;
      },
    );
    return this.initializing;
  }

  private async connect(): Promise<Connected> {
    let nc = this.options.connection;
    const own = nc === undefined;
    try {
      nc ??= await connect({
        servers: this.options.servers ?? '127.0.0.1:4222',
        name: 'crier',
        timeout: this.requestTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 100,
        // A server that stops answering (paused, a dead link) is noticed within about three pings.
        pingInterval: 2000,
        maxPingOut: 2,
        ...this.options.connectOptions,
      });
    } catch (error) {
      throw this.unavailable('cannot connect', error);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.requestTimeoutMs });
      const c: Connected = { nc, jsm, js: jetstream(nc, { timeout: this.requestTimeoutMs }) };
      this.watchStatus(nc);
      await this.ensureStreams(c);
      if (this.closed) throw closedError();
      return c;
    } catch (error) {
      if (own) await nc.close().catch(() => {});
      if (error instanceof EngineError) throw error;
      throw this.unavailable('cannot set up the JetStream streams', error);
    }
  }

  private watchStatus(nc: NatsConnection): void {
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'staleConnection') this.down = true;
        else if (s.type === 'reconnect') this.down = false;
      }
    })().catch(() => {});
  }

  /** Creates the streams when missing (or updates their bounds), and learns the epoch. */
  private async ensureStreams(c: Connected): Promise<void> {
    const p = this.subjectPrefix;
    const ns = (ms: number) => ms * 1_000_000;
    const storage = this.options.storage === 'memory' ? StorageType.Memory : StorageType.File;
    const num_replicas = this.options.replicas ?? 1;
    const main = {
      name: this.streamName,
      subjects: [`${p}.g`, `${p}.i.*`],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      storage,
      num_replicas,
      max_msgs: this.maxCount,
      max_bytes: this.maxBytes,
      max_age: ns(this.maxAgeMs),
      max_msgs_per_subject: -1,
      // No Nats-Msg-Id is used; the window must not exceed max_age.
      duplicate_window: ns(Math.min(this.maxAgeMs, 1000)),
      allow_direct: true,
    };
    const ids = {
      name: this.idsStream,
      subjects: [`${p}.seen.*`],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      storage,
      num_replicas,
      max_msgs: this.maxCount * 10,
      max_bytes: Math.min(this.maxBytes, this.maxCount * 10 * 256),
      max_age: ns(this.maxAgeMs * 10),
      max_msgs_per_subject: 1,
      duplicate_window: ns(Math.min(this.maxAgeMs * 10, 1000)),
      allow_direct: true,
    };
    let info: StreamInfo;
    for (const config of [ids, main]) {
      try {
        info = await c.jsm.streams.add(config);
      } catch (error) {
        // It exists with another configuration (other bounds): keep it, with this engine's bounds. An add
        // racing another engine's add of the same stream can also be answered "subjects overlap": if a
        // stream of this name exists now, it is that one; if not, another stream holds the subjects.
        const message = (error as Error).message;
        if (!/already in use|exists|subjects overlap/i.test(message)) throw error;
        const { subjects: _subjects, ...bounds } = config;
        try {
          info = await c.jsm.streams.update(config.name, bounds);
        } catch (updateError) {
          throw /subjects overlap/i.test(message) ? error : updateError;
        }
      }
    }
    this.learnEpoch(info!);
  }

  private recreating: Promise<void> | undefined;
  /** The stream is gone (deleted, or lost with the server's store): create it again, a new epoch. */
  private recreateSoon(): void {
    const c = this.connected;
    if (c === undefined || this.recreating !== undefined || this.closed) return;
    this.recreating = this.ensureStreams(c)
      .catch(() => {})
      .finally(() => {
        this.recreating = undefined;
      });
  }

  private async refreshEpoch(c: Connected): Promise<void> {
    await this.streamInfo(c);
  }

  private async streamInfo(c: Connected): Promise<StreamInfo> {
    try {
      const info = await c.jsm.streams.info(this.streamName);
      this.learnEpoch(info);
      return info;
    } catch (error) {
      if (isStreamMissing(error)) this.recreateSoon();
      throw this.unavailable(`cannot read stream ${this.streamName}`, error);
    }
  }

  /** Takes the epoch from a stream info; a changed creation time is a new epoch. */
  private learnEpoch(info: StreamInfo): void {
    if (info.created !== this.created) {
      this.created = info.created;
      this.epoch = epochOf(this.streamName, info.created);
      this.knownLast = info.state.last_seq;
      this.lastAcked = 0;
    } else if (info.state.last_seq > this.knownLast) {
      this.knownLast = info.state.last_seq;
    }
    if (this.liveEpoch !== '' && this.liveEpoch !== this.epoch && this.live !== undefined) this.restartLive();
  }

  private async direct(
    c: Connected,
    stream: string,
    query: { last_by_subj: string } | { seq: number } | { seq: number; next_by_subj: string },
  ) {
    try {
      return await c.jsm.direct.getMessage(stream, query);
    } catch (error) {
      throw this.unavailable(`cannot read stream ${stream}`, error);
    }
  }

  // --- History ------------------------------------------------------------------------------------------

  /**
   * Reads the updates with sequences after..last (and checks `after` itself when `checkGenerated`: a
   * generated ID names an update without a publisher ID). A missing sequence means the front was trimmed
   * while reading, so the ID is expired. With a `limit`, reads at most that many updates (a page: a
   * bounded batch of direct gets, or a fetch of that many from an ordered consumer).
   */
  private async readRange(
    c: Connected,
    after: number,
    newest: number,
    checkGenerated: boolean,
    limit?: number,
  ): Promise<HistoryRead> {
    const last = limit === undefined ? newest : Math.min(newest, after + limit);
    const more = last < newest;
    const position = { epoch: this.epoch, offset: last };
    const first = checkGenerated ? after : after + 1;
    const count = Math.max(0, last - first + 1);
    const msgs: ({ seq: number; data: Uint8Array } | null)[] = new Array(count);
    if (count > CONSUMER_READ) {
      await this.readWithConsumer(c, first, last, msgs);
    } else {
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const i = next++;
          msgs[i] = await this.direct(c, this.streamName, { seq: first + i });
        }
      };
      await Promise.all(Array.from({ length: count }, worker));
    }
    const updates: StoredUpdate[] = [];
    for (const [i, m] of msgs.entries()) {
      if (m === null || m === undefined) return { status: 'expired', position };
      const body = this.parse(m);
      if (body === undefined) return { status: 'expired', position };
      if (checkGenerated && i === 0) {
        if (body.i !== undefined) return { status: 'unknown', position };
        continue;
      }
      updates.push(this.toUpdate(body, m.seq, this.epoch));
    }
    return more ? { status: 'ok', updates, position, more } : { status: 'ok', updates, position };
  }

  /**
   * Reads first..last with an ephemeral ordered consumer (one request streams them all), into `msgs` by
   * position. A sequence the stream no longer has stays empty.
   */
  private async readWithConsumer(
    c: Connected,
    first: number,
    last: number,
    msgs: ({ seq: number; data: Uint8Array } | null)[],
  ): Promise<void> {
    try {
      const consumer = await c.js.consumers.get(this.streamName, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: first,
        inactive_threshold: 10_000,
      });
      try {
        const iter = await consumer.fetch({ max_messages: last - first + 1, expires: this.requestTimeoutMs });
        for await (const m of iter) {
          if (m.seq > last) break;
          msgs[m.seq - first] = { seq: m.seq, data: m.data };
          if (m.seq === last) break;
        }
      } finally {
        consumer.delete().catch(() => {});
      }
    } catch (error) {
      throw this.unavailable(`cannot read stream ${this.streamName}`, error);
    }
  }

  private parse(m: { data: Uint8Array }): Body | undefined {
    try {
      const body = JSON.parse(this.decoder.decode(m.data)) as Body;
      return Array.isArray(body.t) && typeof body.d === 'string' ? body : undefined;
    } catch {
      return undefined;
    }
  }

  private toUpdate(body: Body, seq: number, epoch: string): StoredUpdate {
    return toStored(body, body.i ?? `${epoch}-${seq}`, seq, epoch);
  }

  // --- Live stream ------------------------------------------------------------------------------------

  /** Starts the ordered consumer after sequence `from` (undefined: the newest when connected). */
  private async startLive(from: number | undefined): Promise<void> {
    let messages: ConsumerMessages | undefined;
    let start = from;
    // Until NATS answers: try again every half second, from the same place.
    while (messages === undefined) {
      if (this.closed) return;
      try {
        const c = await this.init();
        start ??= this.knownLast;
        this.liveEpoch = this.epoch;
        this.liveLast = start;
        const consumer = await c.js.consumers.get(this.streamName, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: start + 1,
        });
        messages = await consumer.consume({
          max_messages: 1000,
          // Short pulls: a pull request lost with a server restart is replaced within a few seconds.
          expires: 4000,
          callback: (m) => this.deliver(m.seq, this.parse(m)),
        });
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (this.closed) {
      messages.stop();
      return;
    }
    this.live = messages;
    // Status notifications: a recreated consumer may sit on a recreated stream: check the epoch.
    (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'ordered_consumer_recreated' || s.type === 'stream_not_found') this.checkEpochSoon();
      }
    })().catch(() => {});
    clearInterval(this.epochTimer);
    this.epochTimer = setInterval(() => this.checkEpochSoon(), this.epochCheckMs);
    this.epochTimer.unref();
  }

  private checkEpochSoon(): void {
    const c = this.connected;
    if (c === undefined || this.closed || this.down) return;
    this.streamInfo(c).catch(() => {});
  }

  /** The epoch changed under the live stream: tell the followers, follow the new stream from its end. */
  private restartLive(): void {
    const old = this.live;
    this.live = undefined;
    old?.stop();
    this.resetFollowers(`the stream ${this.streamName} was recreated (a new epoch)`);
    if (!this.closed) {
      this.liveStarting = this.startLive(this.knownLast).finally(() => {
        this.liveStarting = undefined;
      });
    }
  }

  private deliver(seq: number, body: Body | undefined): void {
    if (this.liveEpoch !== this.epoch) return; // a restart of the live stream is on its way
    if (seq <= this.liveLast) return; // already delivered (cannot happen with an ordered consumer)
    if (seq !== this.liveLast + 1)
      this.resetFollowers(
        `the live stream skipped from ${this.liveLast} to ${seq}: history it needed is gone`,
      );
    this.liveLast = seq;
    if (seq > this.knownLast) this.knownLast = seq;
    if (body === undefined) return;
    const stored = this.toUpdate(body, seq, this.liveEpoch);
    for (const follower of this.followers) {
      try {
        follower.update(stored);
      } catch (error) {
        process.emitWarning(`A NATS engine follower threw: ${(error as Error)?.message ?? error}`);
      }
    }
  }

  private resetFollowers(reason: string): void {
    for (const follower of this.followers) {
      try {
        follower.reset(reason);
      } catch (error) {
        process.emitWarning(`A NATS engine follower threw on reset: ${(error as Error)?.message ?? error}`);
      }
    }
  }

  private unavailable(what: string, cause?: unknown, mayBeStored = false): EngineError {
    if (this.closed) return closedError();
    const detail = cause instanceof Error ? ` (${cause.message})` : '';
    return new EngineError(
      'ENGINE_UNAVAILABLE',
      `NATS JetStream (stream ${this.streamName}) is unavailable: ${what}${detail}. Check that nats-server runs with JetStream (-js) and is reachable.`,
      { cause, mayBeStored },
    );
  }
}

interface Connected {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

function toStored(body: Body, id: string, offset: number, epoch: string): StoredUpdate {
  return {
    topics: body.t,
    data: body.d,
    id,
    event: body.e,
    retry: body.r,
    private: body.p,
    offset,
    epoch,
    time: body.ms,
  };
}

/** Eight base-36 characters naming one lifetime of a stream (its name and creation time). */
function epochOf(stream: string, created: string): string {
  const digest = createHash('sha256').update(`${stream}\n${created}`).digest();
  return (digest.readBigUInt64BE(0) % 36n ** 8n).toString(36).padStart(8, '0');
}

/** A subject token for an ID of any length and content: base64url SHA-256. */
function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function isStreamMissing(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /stream not found|no responders/i.test(message);
}

function closedError(): EngineError {
  return new EngineError('ENGINE_CLOSED', 'The NATS JetStream engine is closed.');
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new EngineError('INVALID_UPDATE', `${name} must be a positive number, got ${value}.`);
  return value;
}
