/**
 * A streaming parser for `text/event-stream`, following the WHATWG HTML standard, section 9.2.6
 * "Interpreting an event stream", step by step. The comments name the step each piece implements.
 *
 * Free of Node-only APIs: the browser client, the Node client and the load generator all use it.
 */

import { ProtocolError } from './errors.js';

/** An event as the stream's reader dispatches it (the fields of a `MessageEvent`). */
export interface ParsedEvent {
  /** The event type: the `event:` field, or `message` when there was none. */
  type: string;
  /** The data buffer with its last LF removed. */
  data: string;
  /** The last event ID string at the time of dispatch (may come from an earlier event). */
  lastEventId: string;
}

export interface ParserHandlers {
  /** Called for each dispatched event. */
  onEvent(event: ParsedEvent): void;
  /** Called when a `retry:` field made of ASCII digits sets the reconnection time (milliseconds). */
  onRetry?(milliseconds: number): void;
  /** Called for each comment line, with the text after the colon (not trimmed). */
  onComment?(text: string): void;
  /**
   * Called at every blank line, after the event it dispatched if any: a block without data (a heartbeat
   * `:` then a blank line, a lone `retry:`) completes too. A client counts it as the stream working.
   */
  onBlockEnd?(): void;
  /**
   * Called for a field the standard does not name (which the standard ignores), with its name and value,
   * before the event of its block is dispatched: Crier's client reads its `delta:` field this way.
   */
  onField?(field: string, value: string): void;
}

export interface ParserOptions {
  /** The longest line accepted, in UTF-16 code units, before the parser fails. Default 1,048,576. */
  maxLineLength?: number;
  /** The largest data buffer of one event, in UTF-16 code units, before the parser fails. Default 8,388,608. */
  maxEventSize?: number;
  /**
   * The last event ID buffer to start from. Default ''. An event source keeps one buffer across all its
   * connections (browsers do, and WPT `format-field-id-2` tests it): a client creates each connection's
   * parser with the ID it resumed from, so an event without `id:` on the new stream still carries it.
   */
  lastEventId?: string;
}

export const DEFAULT_MAX_LINE_LENGTH = 1_048_576;
export const DEFAULT_MAX_EVENT_SIZE = 8_388_608;

const LF = 0x0a;
const ASCII_DIGITS = /^[0-9]+$/;

/**
 * Reads an event stream in chunks cut anywhere, even inside a UTF-8 character or between a CR and its LF.
 * `push` bytes as they arrive, `end` when the stream ends. After an error it stays failed.
 */
export class EventStreamParser {
  readonly maxLineLength: number;
  readonly maxEventSize: number;
  private readonly handlers: ParserHandlers;

  // "The stream must then be decoded using the UTF-8 decode algorithm": a streaming TextDecoder decodes
  // characters split between chunks, replaces invalid sequences with U+FFFD, and strips one leading BOM
  // (only the first: a second U+FEFF is content).
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

  // "When a stream is parsed, a data buffer, an event type buffer, and a last event ID buffer must be
  // associated with it. They must be initialized to the empty string."
  private dataBuffer = '';
  private eventTypeBuffer = '';
  private lastEventIdBuffer = '';
  private dispatchedLastEventId = '';

  /** Text after the last line ending seen, waiting for the rest of its line. */
  private pending = '';
  /** The previous chunk ended with CR: an LF starting the next chunk belongs to that CRLF. */
  private skipLeadingLF = false;
  private state: 'open' | 'ended' | 'failed' = 'open';

  constructor(handlers: ParserHandlers, options: ParserOptions = {}) {
    this.handlers = handlers;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
    if (options.lastEventId !== undefined) {
      this.lastEventIdBuffer = options.lastEventId;
      this.dispatchedLastEventId = options.lastEventId;
    }
  }

  /**
   * The event source's "last event ID string": the last event ID buffer as of the latest dispatch. A client
   * sends it as `Last-Event-ID` when it reconnects.
   */
  get lastEventId(): string {
    return this.dispatchedLastEventId;
  }

  /** Feeds the next chunk of bytes. Throws a {@link ProtocolError} when a limit is passed. */
  push(chunk: Uint8Array): void {
    this.assertOpen();
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /**
   * Ends the stream. "Once the end of the file is reached, any pending data must be discarded. (If the file
   * ends in the middle of an event, before the final empty line, the incomplete event is not dispatched.)"
   */
  end(): void {
    if (this.state !== 'open') return;
    this.decoder.decode(); // flushes the decoder; an unfinished character belongs to the discarded line
    this.state = 'ended';
    this.pending = '';
    this.dataBuffer = '';
    this.eventTypeBuffer = '';
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new ProtocolError(
        'PARSER_CLOSED',
        `The parser has ${this.state}; create a new one for a new stream.`,
      );
    }
  }

  private fail(error: ProtocolError): never {
    this.state = 'failed';
    this.pending = '';
    this.dataBuffer = '';
    throw error;
  }

  // "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair,
  // a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN (CR) character."
  private feed(text: string): void {
    if (text.length === 0) return;
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    // The pending text holds no line ending, so the search starts where the new text does.
    const carried = this.pending.length;
    const buffer = carried > 0 ? this.pending + text : text;
    let start = 0;
    let cr = buffer.indexOf('\r', carried);
    let lf = buffer.indexOf('\n', carried);
    while (cr !== -1 || lf !== -1) {
      let end: number;
      let next: number;
      if (lf !== -1 && (cr === -1 || lf < cr)) {
        end = lf;
        next = lf + 1;
      } else {
        end = cr;
        if (cr + 1 < buffer.length) {
          next = buffer.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        } else {
          // A CR at the very end: its LF, if any, is the first character of the next chunk.
          next = cr + 1;
          this.skipLeadingLF = true;
        }
      }
      if (end - start > this.maxLineLength) this.lineTooLong(end - start);
      this.processLine(buffer.slice(start, end));
      start = next;
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = buffer.indexOf('\n', start);
    }
    this.pending = start === 0 ? buffer : buffer.slice(start);
    if (this.pending.length > this.maxLineLength) this.lineTooLong(this.pending.length);
  }

  private lineTooLong(length: number): never {
    return this.fail(
      new ProtocolError(
        'LINE_TOO_LONG',
        `A line of the event stream is longer than ${this.maxLineLength} characters, the maxLineLength limit (${length} so far).`,
      ),
    );
  }

  // "The stream must then be parsed by reading everything line by line, ..."
  private processLine(line: string): void {
    // "If the line is empty (a blank line): Dispatch the event, as defined below."
    if (line.length === 0) {
      this.dispatch();
      this.handlers.onBlockEnd?.();
      return;
    }
    const colon = line.indexOf(':');
    // "If the line starts with a U+003A COLON character (:): Ignore the line." (Crier reports it as a comment.)
    if (colon === 0) {
      this.handlers.onComment?.(line.slice(1));
      return;
    }
    if (colon !== -1) {
      // "If the line contains a U+003A COLON character (:): Collect the characters on the line before the
      // first U+003A COLON character (:), and let field be that string. Collect the characters on the line
      // after the first U+003A COLON character (:), and let value be that string. If value starts with a
      // U+0020 SPACE character, remove it from value."
      const valueStart = line.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1;
      this.processField(line.slice(0, colon), line.slice(valueStart));
    } else {
      // "Otherwise, the string is not empty but does not contain a U+003A COLON character (:): Process the
      // field using the steps described below, using the whole line as the field name, and the empty
      // string as the field value."
      this.processField(line, '');
    }
  }

  // "The steps to process the field given a field name and a field value depend on the field name, as
  // given in the following list. Field names must be compared literally, with no case folding performed."
  private processField(field: string, value: string): void {
    switch (field) {
      case 'event':
        // "Set the event type buffer to the field value."
        this.eventTypeBuffer = value;
        return;
      case 'data':
        // "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
        // character to the data buffer."
        if (this.dataBuffer.length + value.length + 1 > this.maxEventSize) {
          this.fail(
            new ProtocolError(
              'EVENT_TOO_LARGE',
              `An event's data is larger than ${this.maxEventSize} characters, the maxEventSize limit; the stream was stopped.`,
            ),
          );
        }
        this.dataBuffer += value + '\n';
        return;
      case 'id':
        // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field
        // value. Otherwise, ignore the field."
        if (value.indexOf('\0') === -1) this.lastEventIdBuffer = value;
        return;
      case 'retry':
        // "If the field value consists of only ASCII digits, then interpret the field value as an integer in
        // base ten, and set the event stream's reconnection time to that integer. Otherwise, ignore the field."
        if (ASCII_DIGITS.test(value)) this.handlers.onRetry?.(Number.parseInt(value, 10));
        return;
      default:
        // "Otherwise: The field is ignored." (A caller that asked is told of it; the event is unchanged.)
        this.handlers.onField?.(field, value);
        return;
    }
  }

  // "When the user agent is required to dispatch the event, the user agent must process the data buffer,
  // the event type buffer, and the last event ID buffer using steps appropriate for the user agent."
  private dispatch(): void {
    // 1. "Set the last event ID string of the event source to the value of the last event ID buffer. The
    //    buffer does not get reset, so the last event ID string of the event source remains set to this
    //    value until the next time it is set by the server."
    this.dispatchedLastEventId = this.lastEventIdBuffer;
    // 2. "If the data buffer is an empty string, set the data buffer and the event type buffer to the
    //    empty string and return."
    if (this.dataBuffer === '') {
      this.eventTypeBuffer = '';
      return;
    }
    // 3. "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last
    //    character from the data buffer."
    const data = this.dataBuffer.endsWith('\n') ? this.dataBuffer.slice(0, -1) : this.dataBuffer;
    // 4-5. "Let event be the result of creating an event using MessageEvent ... Initialize event's type
    //    attribute to "message", its data attribute to data, ... its lastEventId attribute to the last event
    //    ID string of the event source. If the event type buffer has a value other than the empty string,
    //    change the type of the newly created event to equal the value of the event type buffer."
    const event: ParsedEvent = {
      type: this.eventTypeBuffer === '' ? 'message' : this.eventTypeBuffer,
      data,
      lastEventId: this.dispatchedLastEventId,
    };
    // 6. "Set the data buffer and the event type buffer to the empty string."
    this.dataBuffer = '';
    this.eventTypeBuffer = '';
    // 7. "Queue a task which, if the readyState attribute is set to a value other than CLOSED, dispatches
    //    the newly created event at the EventSource object." (The caller owns readyState.)
    this.handlers.onEvent(event);
  }
}

/** Parses a whole stream at once: convenient for tests and small payloads. */
export function parseEventStream(
  bytes: Uint8Array,
  options?: ParserOptions,
): { events: ParsedEvent[]; retries: number[]; comments: string[]; lastEventId: string } {
  const events: ParsedEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const parser = new EventStreamParser(
    { onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms), onComment: (c) => comments.push(c) },
    options,
  );
  parser.push(bytes);
  parser.end();
  return { events, retries, comments, lastEventId: parser.lastEventId };
}
