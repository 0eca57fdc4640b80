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

enum Phase {
  Head = 0,
  Body = 1,
  Ended = 2,
}
enum Chunk {
  Size = 0,
  Extension = 1,
  Data = 2,
  AfterData = 3,
  Trailer = 4,
}
enum Line {
  /** Still reading the field name: could be `data` or `id`. */
  Field = 0,
  Data = 1,
  Id = 2,
  Other = 3,
}

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
  private phase = Phase.Head;
  private chunked = false;
  private chunkState = Chunk.Size;
  private chunkLeft = 0;
  private chunkSizeDigits = 0;
  // Line state
  private lineKind = Line.Field;
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
    return this.phase === Phase.Ended;
  }

  /** Scans `buf[start, end)`. */
  feed(buf: Uint8Array, start = 0, end = buf.length): void {
    let i = start;
    if (this.phase === Phase.Head) {
      i = this.feedHead(buf, i, end);
      if (i < 0) return;
    }
    if (this.phase !== Phase.Body) return;
    if (!this.chunked) {
      this.scanBody(buf, i, end);
      return;
    }
    while (i < end) {
      switch (this.chunkState) {
        case Chunk.Size: {
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
            this.chunkState = Chunk.Extension;
          } else {
            this.fail();
            return;
          }
          break;
        }
        case Chunk.Extension:
          if (buf[i++] === LF) this.endSizeLine();
          break;
        case Chunk.Data: {
          const take = Math.min(this.chunkLeft, end - i);
          this.scanBody(buf, i, i + take);
          i += take;
          this.chunkLeft -= take;
          if (this.chunkLeft === 0) this.chunkState = Chunk.AfterData;
          break;
        }
        case Chunk.AfterData:
          // CRLF after the chunk's data; then the next size line.
          if (buf[i++] === LF) {
            this.chunkState = Chunk.Size;
            this.chunkLeft = 0;
            this.chunkSizeDigits = 0;
          }
          break;
        case Chunk.Trailer:
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
      this.chunkState = Chunk.Trailer;
      this.phase = Phase.Ended;
      this.handlers.onEnd?.('last-chunk');
      return;
    }
    this.chunkState = Chunk.Data;
  }

  private fail(): void {
    this.phase = Phase.Ended;
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
        this.phase = Phase.Body;
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

  /** The event-stream scan of de-chunked body bytes. */
  private scanBody(buf: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c === LF || c === CR) {
        if (c === LF && this.afterCR) {
          this.afterCR = false;
          continue;
        }
        this.afterCR = c === CR;
        this.endLine();
        continue;
      }
      this.afterCR = false;
      switch (this.lineKind) {
        case Line.Field: {
          const col = this.column;
          if (c === 0x3a) {
            if (col === 4 && this.fieldMayBeData) this.lineKind = Line.Data;
            else if (col === 2 && this.fieldMayBeId) {
              this.lineKind = Line.Id;
              this.idBuffer = '';
            } else this.lineKind = Line.Other;
          } else {
            this.fieldMayBeData = this.fieldMayBeData && col < 4 && DATA[col] === c;
            this.fieldMayBeId = this.fieldMayBeId && col < 2 && ID[col] === c;
            if (!this.fieldMayBeData && !this.fieldMayBeId) this.lineKind = Line.Other;
          }
          break;
        }
        case Line.Data: {
          const s = this.tState;
          if (s < 4) {
            // KMP is not needed: the first byte of `"t":` does not occur again inside it, so on a mismatch
            // the only possible restart is this byte being a new `"`.
            if (c === T_KEY[s]) this.tState = s + 1;
            else this.tState = c === 0x22 ? 1 : 0;
          } else if (s === 4) {
            if (c >= 0x30 && c <= 0x39) {
              this.tValue = c - 0x30;
              this.tState = 5;
            } else if (c !== 0x20) this.tState = 0;
          } else if (s === 5) {
            if (c >= 0x30 && c <= 0x39) this.tValue = this.tValue * 10 + (c - 0x30);
            else this.finishT();
          }
          break;
        }
        case Line.Id:
          if (this.captureIds && !(this.idBuffer === '' && c === 0x20 && this.column === 3)) {
            this.idBuffer += String.fromCharCode(c);
          }
          break;
      }
      this.column++;
    }
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
      this.lineKind === Line.Data ||
      (this.lineKind === Line.Field && this.column === 4 && this.fieldMayBeData)
    ) {
      this.eventHasData = true;
      if (this.tState === 5) this.finishT();
      else if (this.tState < 5) this.tState = 0;
    } else if (this.lineKind === Line.Id && this.captureIds) {
      this.lastEventId = this.idBuffer;
    }
    this.column = 0;
    this.lineKind = Line.Field;
    this.fieldMayBeData = true;
    this.fieldMayBeId = true;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
