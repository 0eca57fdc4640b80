/**
 * Crier's protocol core: the `text/event-stream` encoder and parser. No Node-only APIs, so the same code
 * runs in the browser client, the Node client, the server and the load generator.
 */

export { type EventFields, encodeComment, encodeEvent, encodeEventText } from './encode.js';
export { CrierError, ProtocolError, type ProtocolErrorCode } from './errors.js';
export { headerFromText, textFromHeader } from './header-text.js';
export {
  DEFAULT_MAX_EVENT_SIZE,
  DEFAULT_MAX_LINE_LENGTH,
  EventStreamParser,
  type ParsedEvent,
  type ParserHandlers,
  type ParserOptions,
  parseEventStream,
} from './parse.js';
export {
  MERCURE_VERSION_NAMES,
  type MercureVersion,
  mercureVersion,
  REPLAY_HEADER,
  REPLAY_UNAVAILABLE_EVENT,
} from './vocabulary.js';
