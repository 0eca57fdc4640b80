/**
 * `--ids`: the form of the event IDs the hub generates for updates published without one.
 *
 * - `uuid` (default): `urn:uuid:<random>`, generated before storing (45 bytes). Reveals nothing, which is
 *   what the Mercure text asks of hubs that carry sensitive private updates.
 * - `sequence`: `#<epoch>-<offset>`, a fragment (the Mercure text lets a hub generate "a relative URI
 *   composed of a fragment … an offset or a sequence that is unique for this hub"). The engine's own
 *   generated ID with a `#` in front: the engine's epoch (which changes whenever the log is recreated)
 *   and its offset (Redis: the log's counter, NATS: the JetStream sequence, SQLite: the row, memory or
 *   `--workers N`: the primary's counter). Unique across restarts and on every node; reveals the order
 *   and count of updates.
 * - `opaque`: `#<22 base64url characters>`, the same epoch and offset encrypted with `--ids-key` as one
 *   AES block: resolvable by every node with the key, and to anyone else random — neither order nor count.
 *
 * Publisher-given IDs are kept as they are in every form (they never start with `#`, `validateUpdate`
 * refuses that). The translation lives in `IdFormEngine`, a wrapper of the engine: every update leaves it
 * with its wire ID, and a `Last-Event-ID` in a form it issued is turned back into the engine's ID before
 * the engine reads history, so the hub, the subscriptions API and replays all see one ID per update.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import type {
  Engine,
  EngineFollower,
  EngineHealth,
  HistoryRead,
  ReadOptions,
  StoredUpdate,
  StreamPosition,
  Update,
} from '../engines/engine.js';

export type IdForm = 'uuid' | 'sequence' | 'opaque';

/**
 * An engine-generated ID: `<epoch>-<offset>` (memory, Redis, NATS, workers) or `<epoch>.<run>-<offset>`
 * (SQLite), the epoch eight base-36 characters.
 */
const GENERATED = /^([0-9a-z]{8})(?:\.([0-9a-z]{1,4}))?-([1-9][0-9]{0,15})$/;

/** Turns engine IDs into wire IDs and back. */
export interface IdCodec {
  /** The wire ID of an engine-generated ID. */
  issue(engineId: string): string;
  /** The engine ID a wire ID names; the wire ID itself when it is not one this codec issued. */
  resolve(wireId: string): string;
}

/** `#` + the engine's ID. */
export const sequenceIds: IdCodec = {
  issue: (engineId) => `#${engineId}`,
  resolve: (wireId) => (wireId.startsWith('#') ? wireId.slice(1) : wireId),
};

/**
 * The engine's ID encrypted with a key derived from `secret`. Compact form (16 bytes, 22 characters): the
 * epoch (48 bits), the SQLite run + 1 (24 bits, 0 for none), the offset (40 bits) and 16 zero bits that
 * authenticate a decryption, as ONE AES-128 block — a permutation, so two IDs share nothing visible. An ID
 * that does not fit (an offset past 2^40) takes the long form: a 12-byte synthetic IV (HMAC of the ID) and
 * the ID under AES-128-CTR.
 */
export function opaqueIds(secret: string): IdCodec {
  const digest = createHash('sha256').update(`crier event ids\0${secret}`).digest();
  const aesKey = digest.subarray(0, 16);
  const macKey = digest.subarray(16, 32);
  const block = (data: Buffer, decrypt: boolean): Buffer => {
    const c = decrypt
      ? createDecipheriv('aes-128-ecb', aesKey, null)
      : createCipheriv('aes-128-ecb', aesKey, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  };
  const ctr = (iv: Buffer, data: Buffer): Buffer => {
    const c = createCipheriv('aes-128-ctr', aesKey, Buffer.concat([iv, Buffer.alloc(4)]));
    return Buffer.concat([c.update(data), c.final()]);
  };
  return {
    issue(engineId) {
      const m = GENERATED.exec(engineId);
      const offset = m === null ? 0 : Number(m[3]);
      if (m !== null && offset < 2 ** 40) {
        const out = Buffer.alloc(16);
        out.writeUIntBE(Number.parseInt(m[1]!, 36), 0, 6);
        out.writeUIntBE(m[2] === undefined ? 0 : Number.parseInt(m[2], 36) + 1, 6, 3);
        out.writeUIntBE(offset, 9, 5);
        return `#${block(out, false).toString('base64url')}`;
      }
      const plain = Buffer.from(engineId, 'utf8');
      const iv = createHmac('sha256', macKey).update(plain).digest().subarray(0, 12);
      return `#${Buffer.concat([iv, ctr(iv, plain)]).toString('base64url')}`;
    },
    resolve(wireId) {
      if (!wireId.startsWith('#') || !/^#[A-Za-z0-9_-]{22,}$/.test(wireId)) return wireId;
      const bytes = Buffer.from(wireId.slice(1), 'base64url');
      if (bytes.length === 16) {
        const plain = block(bytes, true);
        if (plain.readUInt16BE(14) !== 0) return wireId;
        const epoch = plain.readUIntBE(0, 6).toString(36).padStart(8, '0');
        const run = plain.readUIntBE(6, 3);
        const offset = plain.readUIntBE(9, 5);
        if (offset === 0 || epoch.length !== 8) return wireId;
        return run === 0 ? `${epoch}-${offset}` : `${epoch}.${(run - 1).toString(36)}-${offset}`;
      }
      if (bytes.length <= 12) return wireId;
      const iv = bytes.subarray(0, 12);
      const plain = ctr(iv, bytes.subarray(12));
      const check = createHmac('sha256', macKey).update(plain).digest().subarray(0, 12);
      return check.equals(iv) ? plain.toString('utf8') : wireId;
    },
  };
}

/** The codec of a form; `null` for `uuid` (IDs are generated before storing, nothing to translate). */
export function idCodec(form: IdForm, secret: string | undefined): IdCodec | null {
  if (form === 'uuid') return null;
  if (form === 'sequence') return sequenceIds;
  if (secret === undefined || secret.length < 16)
    throw new Error(
      '--ids opaque needs --ids-key: a secret of at least 16 characters, the same on every node.',
    );
  return opaqueIds(secret);
}

/**
 * The engine with wire IDs: every update it gives out (publish, live, history) carries the ID the codec
 * issued for it when the engine generated that ID, and `readAfter` accepts the wire ID back. An update
 * object is translated once and the translation kept as long as the engine keeps the original, so a
 * replay storm still shares one object (and one encoding) per update.
 */
export class IdFormEngine implements Engine {
  readonly name: string;
  private readonly wired = new WeakMap<StoredUpdate, StoredUpdate>();

  constructor(
    private readonly inner: Engine,
    private readonly codec: IdCodec,
  ) {
    this.name = inner.name;
  }

  /** The update as subscribers see it: its ID in wire form when the engine generated it. */
  private wire = (update: StoredUpdate): StoredUpdate => {
    let out = this.wired.get(update);
    if (out !== undefined) return out;
    const m = GENERATED.exec(update.id);
    out =
      m !== null && Number(m[3]) === update.offset ? { ...update, id: this.codec.issue(update.id) } : update;
    this.wired.set(update, out);
    return out;
  };

  private wireRead<R extends HistoryRead>(read: R): R {
    return read.status === 'ok' ? { ...read, updates: read.updates.map(this.wire) } : read;
  }

  async publish(update: Update): Promise<StoredUpdate> {
    return this.wire(await this.inner.publish(update));
  }
  follow(follower: EngineFollower): () => void {
    return this.inner.follow({
      update: (update) => follower.update(this.wire(update)),
      reset: (reason) => follower.reset(reason),
    });
  }
  async readAfter(lastEventId: string, options?: ReadOptions): Promise<HistoryRead> {
    return this.wireRead(await this.inner.readAfter(this.codec.resolve(lastEventId), options));
  }
  async readAll(options?: ReadOptions): Promise<HistoryRead & { readonly status: 'ok' }> {
    return this.wireRead(await this.inner.readAll(options));
  }
  position(): Promise<StreamPosition> {
    return this.inner.position();
  }
  health(): Promise<EngineHealth> {
    return this.inner.health();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
