/**
 * The load generator's byte scanner: reads an HTTP/1.1 response carrying `text/event-stream` straight from
 * socket bytes and reports, per event, the first integer after `"t":` in its data (the publish time in
 * microseconds), and nothing else.
 *
 * Why not the protocol core's `EventStreamParser`: that parser is the spec-exact one and builds strings for
 * every field. A subscriber of the load generator must keep up with millions of events a second spread over
 * a few processes on one core, so this scanner allocates nothing per event: one pass over the bytes, a small
 * state machine that de-chunks `Transfer-Encoding: chunked`, finds line ends (LF, CR, CRLF), tells `data:`
 * and `id:` lines from the rest, and reads digits. It counts an event where the spec would dispatch one: at a
 * blank line after at least one data line. It is tested against chunk and event boundaries split anywhere.
 */

const LF = 0x0a;
const CR = 0x0d;

// States as plain number constants, not enums: the build keeps enums as objects (isolatedModules), and a
// property load per byte is measurable in the hot loop.
const PHASE_HEAD = 0;
const PHASE_BODY = 1;
const PHASE_ENDED = 2;
const CHUNK_SIZE = 0;
const CHUNK_EXTENSION = 1;
const CHUNK_DATA = 2;
const CHUNK_AFTER_DATA = 3;
const CHUNK_TRAILER = 4;
/** Still reading the field name: could be `data` or `id`. */
const LINE_FIELD = 0;
const LINE_DATA = 1;
const LINE_ID = 2;
const LINE_OTHER = 3;

const DATA = [0x64, 0x61, 0x74, 0x61]; // "data"
const ID = [0x69, 0x64]; // "id"
const T_KEY = [0x22, 0x74, 0x22, 0x3a]; // "t":
const MAX_HEAD = 16 * 1024;

export interface ScanHandlers {
  /** The response head is complete. */
  onHead(status: number, chunked: boolean): void;
  /** An event was dispatched; `t` is the first integer after `"t":` in its data, or -1. */
  onEvent(t: number): void;
  /** The response is malformed (a head too long, a bad chunk size) or ended (the last chunk). */
  onEnd?(reason: 'malformed' | 'last-chunk'): void;
}

export class SseScanner {
  /** Bytes of the head seen so far (latin1), until the blank line. */
  private head = '';
  private phase: number = PHASE_HEAD;
  private chunked = false;
  private chunkState: number = CHUNK_SIZE;
  private chunkLeft = 0;
  private chunkSizeDigits = 0;
  // Line state
  private lineKind: number = LINE_FIELD;
  private column = 0;
  private afterCR = false;
  private fieldMayBeData = true;
  private fieldMayBeId = true;
  // Event state
  private eventHasData = false;
  private eventT = -1;
  /** Progress matching `"t":` (0-4), 5 = reading digits, 6 = done for this event. */
  private tState = 0;
  private tValue = 0;
  private idBuffer = '';
  /** The last `id:` value seen, when `captureIds` is on. */
  lastEventId = '';
  /** Events dispatched so far. */
  events = 0;

  constructor(
    private readonly handlers: ScanHandlers,
    private readonly captureIds = false,
  ) {}

  get ended(): boolean {
    return this.phase === PHASE_ENDED;
  }

  /** Scans `buf[start, end)`. */
  feed(buf: Uint8Array, start = 0, end = buf.length): void {
    let i = start;
    if (this.phase === PHASE_HEAD) {
      i = this.feedHead(buf, i, end);
      if (i < 0) return;
    }
    if (this.phase !== PHASE_BODY) return;
    if (!this.chunked) {
      this.scanBody(buf, i, end);
      return;
    }
    while (i < end) {
      switch (this.chunkState) {
        case CHUNK_SIZE: {
          const c = buf[i++]!;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.chunkLeft = this.chunkLeft * 16 + digit;
            this.chunkSizeDigits++;
          } else if (c === LF) {
            this.endSizeLine();
          } else if (c === CR) {
            // the LF follows
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.chunkState = CHUNK_EXTENSION;
          } else {
            this.fail();
            return;
          }
          break;
        }
        case CHUNK_EXTENSION:
          if (buf[i++] === LF) this.endSizeLine();
          break;
        case CHUNK_DATA: {
          const take = Math.min(this.chunkLeft, end - i);
          this.scanBody(buf, i, i + take);
          i += take;
          this.chunkLeft -= take;
          if (this.chunkLeft === 0) this.chunkState = CHUNK_AFTER_DATA;
          break;
        }
        case CHUNK_AFTER_DATA:
          // CRLF after the chunk's data; then the next size line.
          if (buf[i++] === LF) {
            this.chunkState = CHUNK_SIZE;
            this.chunkLeft = 0;
            this.chunkSizeDigits = 0;
          }
          break;
        case CHUNK_TRAILER:
          return;
      }
    }
  }

  private endSizeLine(): void {
    if (this.chunkSizeDigits === 0) {
      this.fail();
      return;
    }
    if (this.chunkLeft === 0) {
      this.chunkState = CHUNK_TRAILER;
      this.phase = PHASE_ENDED;
      this.handlers.onEnd?.('last-chunk');
      return;
    }
    this.chunkState = CHUNK_DATA;
  }

  private fail(): void {
    this.phase = PHASE_ENDED;
    this.handlers.onEnd?.('malformed');
  }

  /** Returns the index after the head, or -1 when the head is not complete yet. */
  private feedHead(buf: Uint8Array, start: number, end: number): number {
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      this.head += String.fromCharCode(c);
      if (c === LF && this.head.endsWith('\r\n\r\n')) {
        const head = this.head.toLowerCase();
        this.head = '';
        const status = Number.parseInt(head.slice(9, 12), 10);
        this.chunked = /\r\ntransfer-encoding:[ \t]*[^\r]*chunked/.test(head);
        this.phase = PHASE_BODY;
        this.handlers.onHead(Number.isNaN(status) ? 0 : status, this.chunked);
        return i + 1;
      }
      if (this.head.length > MAX_HEAD) {
        this.fail();
        return -1;
      }
    }
    return -1;
  }

  /**
   * The event-stream scan of de-chunked body bytes. The hot loop of the load generator: state lives in
   * locals while scanning (written back at the end) and each byte takes one or two comparisons.
   */
  private scanBody(buf: Uint8Array, start: number, end: number): void {
    let kind = this.lineKind;
    let col = this.column;
    let afterCR = this.afterCR;
    let tState = this.tState;
    let tValue = this.tValue;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c === LF || c === CR) {
        if (c === LF && afterCR) {
          afterCR = false;
          continue;
        }
        afterCR = c === CR;
        // End of line: hand the state to endLine, which also dispatches events.
        this.lineKind = kind;
        this.column = col;
        this.tState = tState;
        this.tValue = tValue;
        this.endLine();
        kind = LINE_FIELD;
        col = 0;
        tState = this.tState;
        continue;
      }
      afterCR = false;
      col++;
      if (kind === LINE_DATA) {
        if (tState === 5) {
          // Digits of "t": a tight loop (most bytes of a typical event are these).
          if (c >= 0x30 && c <= 0x39) {
            tValue = tValue * 10 + (c - 0x30);
            while (i + 1 < end) {
              const d = buf[i + 1]!;
              if (d < 0x30 || d > 0x39) break;
              tValue = tValue * 10 + (d - 0x30);
              i++;
              col++;
            }
          } else {
            if (this.eventT < 0) this.eventT = tValue;
            tState = 6;
          }
        } else if (tState === 6) {
          // "t" is read: skip to the end of the line.
          i = skipToLineEnd(buf, i + 1, end) - 1;
        } else if (tState < 4) {
          // The first byte of `"t":` does not occur again inside it, so on a mismatch the only possible
          // restart is this byte being a new `"` (no KMP table needed).
          if (c === T_KEY[tState]) tState++;
          else tState = c === 0x22 ? 1 : 0;
        } else if (tState === 4) {
          if (c >= 0x30 && c <= 0x39) {
            tValue = c - 0x30;
            tState = 5;
          } else if (c !== 0x20) tState = 0;
        }
      } else if (kind === LINE_OTHER) {
        i = skipToLineEnd(buf, i + 1, end) - 1;
      } else if (kind === LINE_FIELD) {
        const at = col - 1;
        if (c === 0x3a) {
          if (at === 4 && this.fieldMayBeData) kind = LINE_DATA;
          else if (at === 2 && this.fieldMayBeId) {
            kind = LINE_ID;
            this.idBuffer = '';
          } else kind = LINE_OTHER;
        } else {
          this.fieldMayBeData = this.fieldMayBeData && at < 4 && DATA[at] === c;
          this.fieldMayBeId = this.fieldMayBeId && at < 2 && ID[at] === c;
          if (!this.fieldMayBeData && !this.fieldMayBeId) kind = LINE_OTHER;
        }
      } else if (kind === LINE_ID && this.captureIds) {
        if (!(this.idBuffer === '' && c === 0x20 && col === 4)) this.idBuffer += String.fromCharCode(c);
      }
    }
    this.lineKind = kind;
    this.column = col;
    this.afterCR = afterCR;
    this.tState = tState;
    this.tValue = tValue;
  }

  private finishT(): void {
    if (this.eventT < 0) this.eventT = this.tValue;
    this.tState = 6;
  }

  private endLine(): void {
    if (this.column === 0) {
      // A blank line dispatches the event, when it has data.
      if (this.eventHasData) {
        this.events++;
        this.handlers.onEvent(this.eventT);
      }
      this.eventHasData = false;
      this.eventT = -1;
      this.tState = 0;
    } else if (
      this.lineKind === LINE_DATA ||
      (this.lineKind === LINE_FIELD && this.column === 4 && this.fieldMayBeData)
    ) {
      this.eventHasData = true;
      if (this.tState === 5) this.finishT();
      else if (this.tState < 5) this.tState = 0;
    } else if (this.lineKind === LINE_ID && this.captureIds) {
      this.lastEventId = this.idBuffer;
    }
    this.column = 0;
    this.lineKind = LINE_FIELD;
    this.fieldMayBeData = true;
    this.fieldMayBeId = true;
  }
}

/** The index of the first CR or LF in `buf[from, end)`, or `end`. */
function skipToLineEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const c = buf[i]!;
    if (c === LF || c === CR) return i;
    i++;
  }
  return end;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
