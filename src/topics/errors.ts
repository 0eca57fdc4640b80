import { CrierError } from '../protocol/errors.js';

export type TopicErrorCode =
  /** A topic selector cannot be compiled: an invalid URI template or URL pattern, or an unknown syntax. */
  | 'INVALID_SELECTOR'
  /** A subscription lists more selectors than the configured cap. */
  | 'TOO_MANY_SELECTORS';

/** An error in a topic selector or a list of them. The HTTP layers answer it with a 400. */
export class TopicError extends CrierError<TopicErrorCode> {
  constructor(code: TopicErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TopicError';
  }
}
