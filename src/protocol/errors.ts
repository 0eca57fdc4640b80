/**
 * Errors in Crier are values with a stable `code` and a message a user can act on.
 * The HTTP layers map codes to statuses; nothing else should parse messages.
 *
 * This file is free of Node-only APIs: the browser client uses it too.
 */

export type ProtocolErrorCode =
  /** `id` or `event` contains CR, LF or NUL, which would let it end the field or the event early. */
  | 'INVALID_FIELD'
  /** `retry` is not a non-negative integer. */
  | 'INVALID_RETRY'
  /** A string is not well-formed UTF-16 (a lone surrogate), so it cannot be sent unchanged as UTF-8. */
  | 'INVALID_STRING'
  /** The parser met a line longer than its `maxLineLength`. */
  | 'LINE_TOO_LONG'
  /** The parser's data buffer for one event grew past its `maxEventSize`. */
  | 'EVENT_TOO_LARGE'
  /** The parser was used after it failed or ended. */
  | 'PARSER_CLOSED';

/** The base class of every error Crier throws on purpose. */
export class CrierError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CrierError';
    this.code = code;
  }
}

/** An error in encoding or parsing the `text/event-stream` format. */
export class ProtocolError extends CrierError<ProtocolErrorCode> {
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}
