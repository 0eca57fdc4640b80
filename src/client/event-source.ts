/**
 * `CrierEventSource`: the browser's `EventSource`, rebuilt on `fetch` and `ReadableStream` so that it also
 * runs in Node >= 20, and extended with what `EventSource` lacks (headers, a token refresh before every
 * connect, POST bodies, backoff with jitter, a retry limit, `AbortSignal`, async iteration, typed events,
 * replay-gap reports, one connection shared by the tabs of an origin).
 *
 * The comments quote the WHATWG HTML standard, section 9.2 "Server-sent events", for the step the code
 * implements. The stream itself is parsed by the protocol core's `EventStreamParser`.
 */

import { applyPatch, DELTA_FIELD, parseDeltaField } from '../protocol/delta.js';
import { ProtocolError } from '../protocol/errors.js';
import { headerFromText } from '../protocol/header-text.js';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { ClientError } from './errors.js';
import {
  type ClientEventMap,
  GAP_EVENT_TYPE,
  GapEvent,
  REPLAY_HEADER,
  ReconnectEvent,
  SourceErrorEvent,
} from './events.js';
import { type RelayMessage, SharedConnection, sharingSupported } from './shared.js';

/** Timers the source waits with; inject a fake clock in tests. */
export interface Timers {
  setTimeout(callback: () => void, milliseconds: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the header and body callbacks learn about the connection they prepare. */
export interface ConnectContext {
  /** The absolute URL being requested. */
  url: string;
  /** The event ID the request resumes from ('' for none); sent as `Last-Event-ID`. */
  lastEventId: string;
  /** 0 on the first connect; on a reconnect, its number in a row of failures (1 after a stream that delivered data). */
  attempt: number;
  /**
   * The HTTP status of the previous response when it is why this attempt is made: 401 when the server
   * refused the credentials (send fresh ones: skip any cache), 429/503 … after a busy server. Else undefined.
   */
  status?: number;
}

/** Turns an event's data into the value listeners receive as `event.data`. */
export type Decoder = (data: string) => unknown;

/** The statuses retried by default: too many requests, and a gateway or server busy or briefly down. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = [429, 502, 503, 504];

export interface CrierEventSourceInit {
  /** As `EventSource`: send cookies and HTTP auth cross-origin (`credentials: 'include'`). Default false. */
  withCredentials?: boolean;
  /** Request headers sent on every connect. Default none. */
  headers?: HeadersInit;
  /**
   * Called before every connect and reconnect; the headers it returns are added to `headers` (and win).
   * Use it to send a fresh token. If it throws, the attempt counts as failed and the source backs off.
   * After a 401 it is called once more with `context.status === 401`; a second 401 in a row fails.
   */
  getHeaders?: (context: ConnectContext) => HeadersInit | Promise<HeadersInit>;
  /**
   * Called before every connect; sends `Authorization: Bearer <token>`. Default none. After a 401 it is
   * called once more with `context.status === 401`; a second 401 in a row fails the connection.
   */
  getToken?: (context: ConnectContext) => string | Promise<string>;
  /** The HTTP method. Default `'GET'`. */
  method?: string;
  /** The request body (e.g. for POST), or a function that makes one per connect. Default none. */
  body?: BodyInit | null | ((context: ConnectContext) => BodyInit | null | Promise<BodyInit | null>);
  /** The `fetch` to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * The initial reconnection time in milliseconds: the shortest wait before a reconnect, and the base of
   * the backoff. The server's `retry:` field replaces it. Default 3000.
   */
  retry?: number;
  /**
   * The largest backoff ceiling in milliseconds, and the cap of a `Retry-After`. A server `retry:` above it
   * wins. Default 30000.
   */
  maxRetryDelay?: number;
  /** How much the backoff ceiling grows per failed attempt. Default 2 (1 = constant). */
  backoffFactor?: number;
  /**
   * `'full'`: after a failed attempt, each wait is uniform in [max(retry, ceiling / factor), ceiling].
   * `'none'`: the ceiling itself. Either way the first reconnect after a working connection waits exactly
   * the reconnection time, and no wait is shorter. Default `'full'`.
   */
  jitter?: 'full' | 'none';
  /** Failed reconnection attempts in a row before the source gives up (CLOSED). Default Infinity. */
  maxRetries?: number;
  /**
   * The response statuses that reconnect (after `Retry-After`, capped at `maxRetryDelay`, or the backoff,
   * whichever is longer; each counts toward `maxRetries`) instead of failing the connection. Default
   * `[429, 502, 503, 504]`. `[]` gives the browser's behaviour: every status but 200 is fatal.
   */
  retryStatuses?: readonly number[];
  /** Closes the source when aborted. */
  signal?: AbortSignal;
  /** The event ID to resume from on the first connect (sent as `Last-Event-ID`). Default ''. */
  lastEventId?: string;
  /**
   * Share one connection among the tabs of this origin (Web Locks elect a leader tab, BroadcastChannel
   * relays its events). `{ name }` chooses the lock/channel name (default: derived from the URL and method).
   * Where Web Locks or BroadcastChannel are missing (Node), the source connects on its own. Default false.
   */
  shared?: boolean | { name?: string };
  /**
   * Turns each event's data into the value listeners receive as `event.data`: one function for every event
   * type (`decode: JSON.parse`), or one per type (`decode: { score: JSON.parse }`; other types stay
   * strings). If it throws, the event is dropped and an `error` event (DECODE_FAILED) reports it.
   * Default: data stays a string.
   */
  decode?: Decoder | { readonly [type: string]: Decoder | undefined };
  /**
   * The longest line accepted, in UTF-16 code units. A longer line stops the connection
   * (`MALFORMED_STREAM`, naming `maxLineLength`) and the source reconnects with backoff. Default 1,048,576.
   */
  maxLineLength?: number;
  /** The largest data of one event, in UTF-16 code units; as `maxLineLength`. Default 8,388,608. */
  maxEventSize?: number;
  /**
   * Delta updates from a Crier hub or server (`delta=1` is added to the request URL): after a full update
   * of a topic, the next ones of that topic arrive as patches (a `delta:` field), which the source applies,
   * so listeners see the same `data`, type and ID as without deltas. A patch that cannot be applied ends the
   * connection, and the source resumes from the last complete event (the server then sends it in full).
   * Default false.
   */
  delta?: boolean;
  /** The clock for reconnection delays. Default `globalThis.setTimeout`/`clearTimeout`. */
  timers?: Timers;
  /** The random source for jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** The data types of the server's event types, by event type. `message` is a string unless given. */
export type EventDataMap = Record<string, unknown>;

type WithMessage<Events extends EventDataMap> = Omit<{ message: string }, keyof Events> & Events;

/** A `MessageEvent` whose `type` narrows its `data`: `if (event.type === 'score') event.data.home`. */
export type ServerEvent<Events extends EventDataMap = EventDataMap> = {
  [K in keyof WithMessage<Events> & string]: MessageEvent<WithMessage<Events>[K]> & { readonly type: K };
}[keyof WithMessage<Events> & string];

/** The events the source dispatches at itself besides the server's: `open` and `error`, as `EventSource`. */
export interface SourceEventMap {
  open: Event;
  error: SourceErrorEvent;
}

type Listener<This, E> = ((this: This, event: E) => unknown) | { handleEvent(event: E): unknown };

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return cause.message + inner;
  }
  return String(cause);
}

// "the MIME type's essence is text/event-stream": parameters such as charset are allowed.
function isEventStream(contentType: string | null): boolean {
  if (contentType === null) return false;
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return essence === 'text/event-stream';
}

export class CrierEventSource<Events extends EventDataMap = EventDataMap> extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSED = CLOSED;

  /** "The url attribute's getter must return the serialization of this EventSource object's url." */
  readonly url: string;
  readonly withCredentials: boolean;

  private state: number = CONNECTING;
  private lastId: string;
  private reconnectionTime: number;
  /** Failed attempts in a row since the last connection that worked (see `connectionEnded`). */
  private failures = 0;
  /** A 401 was answered by asking `getToken`/`getHeaders` again; cleared by the next 200. */
  private refreshedAfter401 = false;
  /** The status that made the pending attempt necessary (for `ConnectContext.status`). */
  private retryStatus: number | undefined;
  /** The client's own events (`reconnect`, `gap`), kept apart from the server's. */
  private readonly own = new EventTarget();
  /** Bumped by close() and by every new attempt: async work from an older attempt checks it and stops. */
  private generation = 0;
  private controller: AbortController | undefined;
  private timer: unknown;
  private readonly init: CrierEventSourceInit;
  private readonly fetchImpl: typeof fetch;
  private readonly timers: Timers;
  private readonly iterators = new Set<EventQueue<ServerEvent<Events>>>();
  private readonly handlers = new Map<string, EventListener>();
  private readonly shared: SharedConnection | undefined;
  private readonly abortListener: (() => void) | undefined;

  constructor(url: string | URL, init: CrierEventSourceInit = {}) {
    super();
    // "Let urlRecord be the result of encoding-parsing a URL given url, relative to settings. If urlRecord is
    // failure, then throw a "SyntaxError" DOMException."
    const base = (globalThis as { location?: { href: string } }).location?.href;
    let record: URL;
    try {
      record = new URL(url, base);
    } catch {
      throw new DOMException(`The URL '${String(url)}' is invalid.`, 'SyntaxError');
    }
    this.url = record.href;
    // "If eventSourceInitDict's withCredentials is true, then set corsAttributeState to Use Credentials
    // and set ev's withCredentials attribute to true."
    this.withCredentials = init.withCredentials === true;
    this.init = init;
    this.lastId = init.lastEventId ?? '';
    this.reconnectionTime = init.retry ?? 3000;
    this.fetchImpl = init.fetch ?? globalThis.fetch.bind(globalThis);
    this.timers = init.timers ?? {
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    };

    if (init.signal) {
      if (init.signal.aborted) {
        this.state = CLOSED;
        return;
      }
      this.abortListener = () => this.close();
      init.signal.addEventListener('abort', this.abortListener, { once: true });
    }

    if (init.shared && sharingSupported()) {
      const name =
        (typeof init.shared === 'object' && init.shared.name) ||
        `crier:${(init.method ?? 'GET').toUpperCase()} ${this.url}`;
      this.shared = new SharedConnection(name, {
        becomeLeader: () => this.becomeLeader(),
        receive: (message) => this.applyRelayed(message),
        describe: () => ({ readyState: this.state, lastEventId: this.lastId }),
      });
      return;
    }
    // "Fetch request": in parallel, so that listeners added right after construction see `open`.
    queueMicrotask(() => this.connect());
  }

  /** CONNECTING (0), OPEN (1) or CLOSED (2). */
  get readyState(): number {
    return this.state;
  }

  /** The event source's last event ID string: sent as `Last-Event-ID` when it reconnects. */
  get lastEventId(): string {
    return this.lastId;
  }

  /** 'leader' when this tab holds the shared connection, 'follower' when it receives relayed events, else 'off'. */
  get sharedRole(): 'leader' | 'follower' | 'off' {
    if (!this.shared) return 'off';
    return this.shared.isLeader ? 'leader' : 'follower';
  }

  get onopen(): ((this: this, event: Event) => unknown) | null {
    return this.getHandler('open');
  }
  set onopen(handler: ((this: this, event: Event) => unknown) | null) {
    this.setHandler('open', handler);
  }
  get onmessage(): ((this: this, event: ServerEvent<Events>) => unknown) | null {
    return this.getHandler('message');
  }
  set onmessage(handler: ((this: this, event: ServerEvent<Events>) => unknown) | null) {
    this.setHandler('message', handler);
  }
  get onerror(): ((this: this, event: SourceErrorEvent) => unknown) | null {
    return this.getHandler('error');
  }
  set onerror(handler: ((this: this, event: SourceErrorEvent) => unknown) | null) {
    this.setHandler('error', handler);
  }
  /** The client's own `reconnect` event (as `addClientListener('reconnect', …)`); a server `event: reconnect` never calls it. */
  get onreconnect(): ((this: this, event: ReconnectEvent) => unknown) | null {
    return this.getHandler('own:reconnect');
  }
  set onreconnect(handler: ((this: this, event: ReconnectEvent) => unknown) | null) {
    this.setHandler('own:reconnect', handler);
  }
  /** The client's own `gap` event (as `addClientListener('gap', …)`); a server `event: gap` never calls it. */
  get ongap(): ((this: this, event: GapEvent) => unknown) | null {
    return this.getHandler('own:gap');
  }
  set ongap(handler: ((this: this, event: GapEvent) => unknown) | null) {
    this.setHandler('own:gap', handler);
  }

  /**
   * Listens to the client's own events, which no server event can reach: `reconnect` (before each wait,
   * with the attempt, delay and the status that caused it) and `gap` (a Crier server could not replay).
   * `addEventListener` receives the server's events (plus `open` and `error`, as `EventSource`). Returns a
   * function that removes the listener.
   */
  addClientListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => unknown,
    options?: AddEventListenerOptions,
  ): () => void {
    const wrapped = (event: Event) => listener(event as ClientEventMap[K]);
    this.own.addEventListener(type, wrapped, options);
    return () => this.own.removeEventListener(type, wrapped, options);
  }

  override addEventListener<K extends keyof SourceEventMap>(
    type: K,
    listener: Listener<this, SourceEventMap[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener<K extends keyof WithMessage<Events> & string>(
    type: K,
    listener: Listener<this, MessageEvent<WithMessage<Events>[K]>> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof SourceEventMap>(
    type: K,
    listener: Listener<this, SourceEventMap[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener<K extends keyof WithMessage<Events> & string>(
    type: K,
    listener: Listener<this, MessageEvent<WithMessage<Events>[K]>> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  /**
   * "The close() method steps are: 1. Abort any instances of the fetch algorithm started for this EventSource
   * object, and cancel any tasks queued for them. 2. Set this's readyState attribute to CLOSED."
   * No event is fired. Async iterations end without an error.
   */
  close(): void {
    this.stop();
    this.finishIterators(undefined);
  }

  /**
   * Every event the server sends, of any type, until the source closes: `for await (const e of source)`.
   * Leaving the loop early closes the source. If the connection fails for good, the loop throws the
   * `ClientError` that says why. Events wait in memory until the loop takes them.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ServerEvent<Events>> {
    const queue = new EventQueue<ServerEvent<Events>>(() => {
      this.iterators.delete(queue);
      this.close();
    });
    if (this.state === CLOSED) queue.finish(undefined);
    else this.iterators.add(queue);
    return queue;
  }

  // ---- connecting -------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    if (this.state === CLOSED) return;
    const generation = ++this.generation;
    const controller = new AbortController();
    this.controller = controller;
    const context: ConnectContext = { url: this.url, lastEventId: this.lastId, attempt: this.failures };
    if (this.retryStatus !== undefined) context.status = this.retryStatus;
    this.retryStatus = undefined;

    // "Let request be the result of creating a potential-CORS request given urlRecord, the empty string, and
    // corsAttributeState, and with the same-origin fallback flag set." "Set request's initiator type to
    // "other"." "Set (`Accept`, `text/event-stream`) in request's header list." "Set request's cache mode
    // to "no-store"." Beyond the spec: the configured headers, method and body.
    let headers: Headers;
    let body: BodyInit | null | undefined;
    try {
      headers = new Headers(this.init.headers);
      if (this.init.getHeaders) {
        for (const [name, value] of new Headers(await this.init.getHeaders(context)))
          headers.set(name, value);
      }
      if (this.init.getToken) headers.set('Authorization', `Bearer ${await this.init.getToken(context)}`);
      const bodyInit = this.init.body;
      body = typeof bodyInit === 'function' ? await bodyInit(context) : bodyInit;
    } catch (cause) {
      if (generation !== this.generation) return;
      this.reestablish(
        new ClientError('HEADERS_FAILED', `Preparing the request failed: ${describe(cause)}`, { cause }),
      );
      return;
    }
    if (generation !== this.generation) return;
    headers.set('Accept', 'text/event-stream');
    // Reestablishing, step 5: "If the EventSource object's last event ID string is not the empty string, then:
    // Let lastEventIDValue be the EventSource object's last event ID string, encoded as UTF-8. Set
    // (`Last-Event-ID`, lastEventIDValue) in request's header list."
    // As its UTF-8 bytes: a header value is bytes, and an ID may hold any character but CR, LF and NUL.
    if (this.lastId !== '') headers.set('Last-Event-ID', headerFromText(this.lastId));
    else headers.delete('Last-Event-ID');

    let response: Response;
    try {
      response = await this.fetchImpl(this.init.delta === true ? withDelta(this.url) : this.url, {
        method: this.init.method ?? 'GET',
        headers,
        body: body ?? null,
        credentials: this.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
        mode: 'cors',
        redirect: 'follow',
        signal: controller.signal,
      });
    } catch (cause) {
      // "If res is an aborted network error, then fail the connection." (close() already set CLOSED.)
      if (generation !== this.generation) return;
      // "Otherwise, if res is a network error, then reestablish the connection, unless the user agent knows
      // that to be futile, in which case the user agent may fail the connection."
      this.reestablish(
        new ClientError('NETWORK_ERROR', `Could not connect to ${this.url}: ${describe(cause)}`, { cause }),
      );
      return;
    }
    if (generation !== this.generation) {
      response.body?.cancel().catch(() => {});
      return;
    }

    // "Otherwise, if res's status is not 200, or if res's `Content-Type` is not `text/event-stream`, then
    // fail the connection." (204 No Content is how a server tells clients to stop reconnecting.) Beyond the
    // spec, by default: a busy server (429, 502, 503, 504) is retried, and a 401 once with fresh credentials.
    if (response.status !== 200) {
      response.body?.cancel().catch(() => {});
      this.refuse(response);
      return;
    }
    const contentType = response.headers.get('Content-Type');
    if (!isEventStream(contentType)) {
      response.body?.cancel().catch(() => {});
      this.fail(
        new ClientError(
          'BAD_CONTENT_TYPE',
          `${this.url} answered Content-Type ${contentType ?? '(none)'}; an event stream must be text/event-stream.`,
          { status: 200 },
        ),
      );
      return;
    }

    // "Otherwise, announce the connection and interpret res's body line by line."
    const requestedId = this.lastId;
    this.refreshedAfter401 = false;
    this.announce();
    if (generation !== this.generation) return;

    // A Crier server sets Crier-Replay on every resumed stream; only then is `crier-replay-unavailable` its
    // gap notice (from any other server it is an ordinary event). The notice comes first in the body and
    // carries the detail, so the gap is reported when it arrives (or before the first other event, or when
    // the connection ends without it).
    const fromCrier = response.headers.has(REPLAY_HEADER);
    const replay = response.headers.get(REPLAY_HEADER)?.trim().toLowerCase();
    let gapPending = fromCrier && requestedId !== '' && (replay === 'expired' || replay === 'unknown');
    let gapReported = false;
    const reportGapOnce = (detail: Record<string, unknown> | undefined) => {
      gapPending = false;
      if (gapReported) return;
      gapReported = true;
      this.reportGap(typeof detail?.lastEventId === 'string' ? detail.lastEventId : requestedId, detail);
    };
    // What this connection achieved, for counting it as a failed attempt or not (see connectionEnded).
    const progress = { blocks: 0, events: 0 };
    const ended = (error: ClientError) => {
      if (gapPending && generation === this.generation) reportGapOnce(undefined);
      this.connectionEnded(error, progress, generation);
    };

    const origin = new URL(response.url || this.url).origin;
    // The last event ID buffer belongs to the event source, not to one connection: the parser starts from
    // the ID this connection resumed from (browsers do; WPT format-field-id-2 checks it).
    let parserLastId = this.lastId;
    // Delta updates: the `delta:` field of the block being read, and this connection's bases by topic slot
    // (src/protocol/delta.ts). A new connection starts with none: the server sends each topic in full first.
    let deltaField: string | null = null;
    let deltaError: ClientError | null = null;
    const bases = new Map<number, string>();
    const parser = new EventStreamParser(
      {
        onEvent: (event) => {
          if (generation !== this.generation || deltaError !== null) return;
          if (deltaField !== null) {
            const rebuilt = rebuildDelta(bases, deltaField, event.data);
            if (rebuilt instanceof ClientError) {
              deltaError = rebuilt;
              return;
            }
            event = { ...event, data: rebuilt };
          }
          progress.events += 1;
          if (fromCrier && event.type === GAP_EVENT_TYPE) {
            this.lastId = parserLastId = event.lastEventId;
            reportGapOnce(parseGapDetail(event.data));
            return;
          }
          if (gapPending) {
            reportGapOnce(undefined);
            if (generation !== this.generation) return;
          }
          this.receive(event, origin, generation);
          parserLastId = event.lastEventId;
        },
        // "If the field value consists of only ASCII digits, then interpret the field value as an integer in
        // base ten, and set the event stream's reconnection time to that integer."
        onRetry: (milliseconds) => {
          this.reconnectionTime = milliseconds;
        },
        onBlockEnd: () => {
          progress.blocks += 1;
          deltaField = null;
        },
        onField: (field, value) => {
          if (field === DELTA_FIELD && this.init.delta === true) deltaField = value;
        },
      },
      {
        maxLineLength: this.init.maxLineLength,
        maxEventSize: this.init.maxEventSize,
        lastEventId: this.lastId,
      },
    );

    const stream = response.body;
    if (!stream) {
      ended(new ClientError('STREAM_ENDED', `${this.url} sent no body.`));
      return;
    }
    const reader = stream.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        if (generation !== this.generation) return;
        ended(
          new ClientError('NETWORK_ERROR', `The connection to ${this.url} broke: ${describe(cause)}`, {
            cause,
          }),
        );
        return;
      }
      if (generation !== this.generation) {
        reader.cancel().catch(() => {});
        return;
      }
      if (chunk.done) {
        // "Once the end of the file is reached, any pending data must be discarded." "When a user agent is to
        // ... the end of the body is reached ... the user agent must reestablish the connection."
        parser.end();
        ended(new ClientError('STREAM_ENDED', `${this.url} ended the stream.`));
        return;
      }
      try {
        parser.push(chunk.value);
      } catch (cause) {
        reader.cancel().catch(() => {});
        if (generation !== this.generation) return;
        // Not in the spec (which sets no limits): a stream past the parser's limits is treated like a broken
        // connection, so the source reconnects with backoff (and stops after maxRetries).
        const reason = cause instanceof ProtocolError ? `${cause.code}: ${cause.message}` : describe(cause);
        ended(
          new ClientError('MALFORMED_STREAM', `The stream from ${this.url} is malformed (${reason})`, {
            cause,
          }),
        );
        return;
      }
      if (generation !== this.generation) {
        reader.cancel().catch(() => {});
        return;
      }
      if (deltaError !== null) {
        // Resume from the last event dispatched whole: the server sends the next one in full.
        reader.cancel().catch(() => {});
        ended(deltaError);
        return;
      }
      // Dispatch step 1 runs even for an event without data ("id: 7" then a blank line): keep that ID too.
      if (parser.lastEventId !== parserLastId) {
        parserLastId = parser.lastEventId;
        this.lastId = parserLastId;
      }
    }
  }

  /**
   * A response other than 200. "Fail the connection", as the spec says, unless its status is one of
   * `retryStatuses` (reconnect after `Retry-After` or the backoff) or a 401 that fresh credentials may cure.
   */
  private refuse(response: Response): void {
    const status = response.status;
    if (status === 204) {
      this.fail(
        new ClientError(
          'NO_CONTENT',
          `${this.url} answered 204 No Content: the server asks the client to stop reconnecting.`,
          { status },
        ),
      );
      return;
    }
    const retryStatuses = this.init.retryStatuses ?? DEFAULT_RETRY_STATUSES;
    if (retryStatuses.includes(status)) {
      const cap = Math.max(this.reconnectionTime, this.init.maxRetryDelay ?? 30_000);
      const retryAfter = parseRetryAfter(response.headers.get('Retry-After'), Date.now(), cap);
      const asked = retryAfter === undefined ? '' : ` and asked to wait ${retryAfter} ms (Retry-After)`;
      this.retryStatus = status;
      this.reestablish(
        new ClientError('UNAVAILABLE', `${this.url} answered HTTP ${status}${asked}; reconnecting.`, {
          status,
        }),
        { retryAfter },
      );
      return;
    }
    if (status === 401 && (this.init.getToken || this.init.getHeaders) && !this.refreshedAfter401) {
      this.refreshedAfter401 = true;
      this.retryStatus = status;
      this.reestablish(
        new ClientError(
          'UNAUTHORIZED',
          `${this.url} answered HTTP 401; asking getToken/getHeaders for fresh credentials and reconnecting once.`,
          { status },
        ),
        { now: true },
      );
      return;
    }
    const again = status === 401 && this.refreshedAfter401 ? ' again, after fresh credentials' : '';
    this.fail(
      new ClientError(
        'BAD_STATUS',
        `${this.url} answered HTTP ${status}${again}; an event stream must answer 200.`,
        { status },
      ),
    );
  }

  /**
   * A connection that opened has ended. It counts as a failed attempt (so the backoff grows and `maxRetries`
   * is reached) unless it worked: it completed a block (an event, a heartbeat, a `retry:`) — or, when it
   * broke a parser limit, it delivered an event, so that an oversized event replayed on every reconnect
   * cannot loop at the shortest delay forever.
   */
  private connectionEnded(
    error: ClientError,
    progress: { blocks: number; events: number },
    generation: number,
  ): void {
    if (generation !== this.generation) return;
    const worked = error.code === 'MALFORMED_STREAM' ? progress.events > 0 : progress.blocks > 0;
    if (worked) this.failures = 0;
    this.reestablish(error);
  }

  /**
   * "When a user agent is to announce the connection, the user agent must queue a task which, if the
   * readyState attribute is set to a value other than CLOSED, sets the readyState attribute to OPEN and fires
   * an event named open at the EventSource object."
   */
  private announce(): void {
    if (this.state === CLOSED) return;
    this.shared?.post({ kind: 'open' });
    if (this.state === OPEN) return; // a tab that took over a shared connection was already open
    this.state = OPEN;
    this.dispatchEvent(new Event('open'));
  }

  /**
   * "When a user agent is to reestablish the connection, the user agent must run the following steps."
   * Beyond the spec: the wait grows with exponential backoff after failed attempts (never below the
   * reconnection time, jitter only adds), a `Retry-After` lengthens it, and `maxRetries` caps the attempts in
   * a row. `now`: the one immediate retry with fresh credentials after a 401 (not counted).
   */
  private reestablish(error: ClientError, how: { retryAfter?: number; now?: boolean } = {}): void {
    this.controller = undefined;
    // 1. "Queue a task to run the following steps: If the readyState attribute is set to CLOSED, abort the
    //    task. Set the readyState attribute to CONNECTING. Fire an event named error at the EventSource object."
    if (this.state === CLOSED) return;
    if (!how.now) this.failures += 1;
    const maxRetries = this.init.maxRetries ?? Number.POSITIVE_INFINITY;
    if (this.failures > maxRetries) {
      this.fail(
        new ClientError(
          'MAX_RETRIES',
          `Gave up after ${maxRetries} reconnection attempt(s) in a row; the last failure: ${error.message}`,
          { cause: error, status: error.status },
        ),
      );
      return;
    }
    this.state = CONNECTING;
    this.shared?.post({ kind: 'error', code: error.code, message: error.message, status: error.status });
    const generation = this.generation;
    this.dispatchEvent(new SourceErrorEvent(error, true));
    if (this.state !== CONNECTING || generation !== this.generation) return;
    // 2. "Wait a delay equal to the reconnection time of the event source."
    // 3. "Optionally, wait some more. In particular, if the previous attempt failed, then user agents might
    //    introduce an exponential backoff delay to avoid overloading a potentially already overloaded server."
    let delay = how.now
      ? 0
      : backoffDelay(
          this.failures,
          {
            base: this.reconnectionTime,
            cap: this.init.maxRetryDelay ?? 30_000,
            factor: this.init.backoffFactor ?? 2,
            jitter: this.init.jitter ?? 'full',
          },
          this.init.random,
        );
    if (how.retryAfter !== undefined) delay = Math.max(delay, how.retryAfter);
    const status = error.status;
    const retryAfter = how.retryAfter;
    this.shared?.post({ kind: 'reconnect', attempt: this.failures, delay, status, retryAfter });
    this.own.dispatchEvent(new ReconnectEvent(this.failures, delay, this.lastId, { status, retryAfter }));
    if (this.state !== CONNECTING || generation !== this.generation) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      // 5. "Queue a task to run the following steps: If the EventSource object's readyState attribute is not
      //    set to CONNECTING, then return." (Then fetch again, with Last-Event-ID: see connect().)
      if (this.state !== CONNECTING || generation !== this.generation) return;
      void this.connect();
    }, delay);
  }

  /**
   * "When a user agent is to fail the connection, the user agent must queue a task which, if the readyState
   * attribute is set to a value other than CLOSED, sets the readyState attribute to CLOSED and fires an event
   * named error at the EventSource object. Once the user agent has failed the connection, it does not
   * attempt to reconnect."
   */
  private fail(error: ClientError): void {
    if (this.state === CLOSED) return;
    this.shared?.post({ kind: 'failed', code: error.code, message: error.message });
    this.stop();
    this.dispatchEvent(new SourceErrorEvent(error, false));
    this.finishIterators(error);
  }

  /** Closes everything without firing: the connection, a pending reconnect, the shared lock and channel. */
  private stop(): void {
    this.state = CLOSED;
    this.generation += 1;
    this.controller?.abort();
    this.controller = undefined;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.shared?.close();
    if (this.abortListener) this.init.signal?.removeEventListener('abort', this.abortListener);
  }

  // ---- dispatching ------------------------------------------------------------------------------------

  /**
   * Dispatch, step 7: "Queue a task which, if the readyState attribute is set to a value other than CLOSED,
   * dispatches the newly created event at the EventSource object."
   */
  private receive(event: ParsedEvent, origin: string, generation: number): void {
    if (this.state === CLOSED || generation !== this.generation) return;
    // Dispatch, step 1: "Set the last event ID string of the event source to the value of the last event ID
    // buffer."
    this.lastId = event.lastEventId;
    this.shared?.post({
      kind: 'event',
      type: event.type,
      data: event.data,
      lastEventId: event.lastEventId,
      origin,
    });
    this.deliver(event.type, event.data, event.lastEventId, origin);
  }

  private deliver(type: string, raw: string, lastEventId: string, origin: string): void {
    let data: unknown = raw;
    const decode = this.init.decode;
    const decoder =
      typeof decode === 'function'
        ? decode
        : decode !== undefined && Object.hasOwn(decode, type)
          ? decode[type]
          : undefined;
    if (decoder) {
      try {
        data = decoder(raw);
      } catch (cause) {
        const error = new ClientError(
          'DECODE_FAILED',
          `Could not decode a '${type}' event (id '${lastEventId}'): ${describe(cause)}`,
          { cause },
        );
        this.dispatchEvent(new SourceErrorEvent(error, this.state !== CLOSED));
        return;
      }
    }
    // Dispatch, steps 4-5: "Initialize event's type attribute to "message", its data attribute to data, its
    // origin attribute to the serialization of the origin of the event stream's final URL (i.e., the URL
    // after redirects), and its lastEventId attribute to the last event ID string of the event source. If the
    // event type buffer has a value other than the empty string, change the type of the newly created event
    // to equal the value of the event type buffer."
    const message = new MessageEvent(type, { data, lastEventId, origin }) as ServerEvent<Events>;
    this.dispatchEvent(message);
    for (const queue of this.iterators) queue.push(message);
  }

  private reportGap(lastEventId: string, detail: Record<string, unknown> | undefined): void {
    this.shared?.post({ kind: 'gap', lastEventId, detail });
    this.own.dispatchEvent(new GapEvent(lastEventId, detail));
  }

  private finishIterators(error: ClientError | undefined): void {
    for (const queue of this.iterators) queue.finish(error);
    this.iterators.clear();
  }

  private getHandler<F>(key: string): F | null {
    return ((this.handlers.get(key) as { handler?: F } | undefined)?.handler ?? null) as F | null;
  }

  // Event handler IDL attributes: setting one replaces the previous handler of that type. A key `own:<type>`
  // is a handler of the client's own events, on their separate target.
  private setHandler(key: string, handler: ((event: never) => unknown) | null): void {
    const own = key.startsWith('own:');
    const type = own ? key.slice(4) : key;
    const previous = this.handlers.get(key);
    if (previous) {
      if (own) this.own.removeEventListener(type, previous);
      else super.removeEventListener(type, previous);
    }
    this.handlers.delete(key);
    if (typeof handler !== 'function') return;
    const listener = Object.assign((event: Event) => (handler as (e: Event) => unknown).call(this, event), {
      handler,
    });
    this.handlers.set(key, listener);
    if (own) this.own.addEventListener(type, listener);
    else super.addEventListener(type, listener);
  }

  // ---- sharing one connection among tabs --------------------------------------------------------------

  /** This tab won the lock: connect, resuming from the last event ID relayed by the previous leader. */
  private becomeLeader(): void {
    if (this.state === CLOSED) return;
    void this.connect();
  }

  /** A follower tab applies what the leader relays. */
  private applyRelayed(message: RelayMessage): void {
    if (this.state === CLOSED) return;
    switch (message.kind) {
      case 'event':
        this.lastId = message.lastEventId;
        if (this.state === CONNECTING) this.applyRelayed({ kind: 'open' });
        this.deliver(message.type, message.data, message.lastEventId, message.origin);
        return;
      case 'open':
        if (this.state === OPEN) return;
        this.state = OPEN;
        this.dispatchEvent(new Event('open'));
        return;
      case 'state':
        // A new follower learns where the stream is, so that it resumes from there if it becomes leader.
        if (this.lastId === '') this.lastId = message.lastEventId;
        if (message.readyState === OPEN) this.applyRelayed({ kind: 'open' });
        return;
      case 'error':
        this.state = CONNECTING;
        this.dispatchEvent(
          new SourceErrorEvent(
            new ClientError(message.code, message.message, { status: message.status }),
            true,
          ),
        );
        return;
      case 'reconnect':
        this.own.dispatchEvent(
          new ReconnectEvent(message.attempt, message.delay, this.lastId, {
            status: message.status,
            retryAfter: message.retryAfter,
          }),
        );
        return;
      case 'gap':
        this.own.dispatchEvent(new GapEvent(message.lastEventId, message.detail));
        return;
      case 'failed': {
        const error = new ClientError(
          'SHARED_FAILED',
          `The tab holding the shared connection failed: ${message.message}`,
          { cause: new ClientError(message.code, message.message) },
        );
        this.stop();
        this.dispatchEvent(new SourceErrorEvent(error, false));
        this.finishIterators(error);
        return;
      }
    }
  }
}

function parseGapDetail(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The queue behind one async iteration: events wait here until the loop asks for them. */
class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting:
    | { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }
    | undefined;
  private done = false;
  private error: unknown;
  private readonly onReturn: () => void;

  constructor(onReturn: () => void) {
    this.onReturn = onReturn;
  }

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
    } else {
      this.buffer.push(value);
    }
  }

  finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiting) {
      const { resolve, reject } = this.waiting;
      this.waiting = undefined;
      if (error) reject(error);
      else resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.done) {
      if (this.error) {
        const error = this.error;
        this.error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.finish(undefined);
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** The request URL of a delta subscriber: `delta=1` in its query. */
function withDelta(url: string): string {
  const u = new URL(url);
  u.searchParams.set('delta', '1');
  return u.href;
}

/**
 * The full data of an event with a `delta:` field: kept as its topic slot's base when it is full, or the
 * patch applied to that base. A ClientError (MALFORMED_STREAM) when it cannot be rebuilt.
 */
function rebuildDelta(bases: Map<number, string>, field: string, data: string): string | ClientError {
  const parsed = parseDeltaField(field);
  if (parsed === null)
    return new ClientError('MALFORMED_STREAM', `A delta field "${field.slice(0, 40)}" is malformed.`);
  let full = data;
  if (parsed.format !== null) {
    const base = bases.get(parsed.slot);
    if (base === undefined)
      return new ClientError(
        'MALFORMED_STREAM',
        `A patch for topic slot ${parsed.slot} came before its full update.`,
      );
    try {
      full = applyPatch(base, parsed.format, data);
    } catch (cause) {
      return new ClientError(
        'MALFORMED_STREAM',
        `A patch for topic slot ${parsed.slot} does not apply: ${describe(cause)}`,
        { cause },
      );
    }
  }
  bases.set(parsed.slot, full);
  return full;
}
