import { CrierError } from '../protocol/errors.js';

export type HubErrorCode =
  /** The request body is not a well-formed form (or JSON) body, or a field is invalid. 400. */
  | 'INVALID_REQUEST'
  /** A 0.x publish names a topic in the hub's reserved `/.well-known/mercure` namespace. 403 (1.0: 400). */
  | 'RESERVED_TOPIC'
  /** The request body is larger than `--max-body`. 413. */
  | 'BODY_TOO_LARGE'
  /** More topics than `--max-topics`. 400. */
  | 'TOO_MANY_TOPICS'
  /** A subscription's selectors cost more than `--max-selector-cost`. 400. */
  | 'SELECTORS_TOO_COSTLY'
  /** A Mercure 1.0 publish with more `topic` fields than `--max-topics`. 413. */
  | 'TOO_MANY_TOPIC_FIELDS'
  /** A rate or connection limit was reached. 429. */
  | 'RATE_LIMITED'
  /** The hub holds `--max-connections` subscribers. 503. */
  | 'TOO_MANY_CONNECTIONS'
  /** The content type is not one the endpoint reads. 415. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** The method is not allowed on this path. 405. */
  | 'METHOD_NOT_ALLOWED'
  /** Nothing is served at this path. 404. */
  | 'NOT_FOUND'
  /** The engine refused or failed. 503. */
  | 'UNAVAILABLE';

const STATUS: Record<HubErrorCode, number> = {
  INVALID_REQUEST: 400,
  RESERVED_TOPIC: 403,
  BODY_TOO_LARGE: 413,
  TOO_MANY_TOPICS: 400,
  SELECTORS_TOO_COSTLY: 400,
  TOO_MANY_TOPIC_FIELDS: 413,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
};

/** An error the hub's HTTP layer answers with `status`, extra `headers` and `message` as the body. */
export class HubError extends CrierError<HubErrorCode> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: HubErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.status = STATUS[code];
    this.headers = options.headers ?? {};
  }
}
