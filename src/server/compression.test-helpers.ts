/**
 * A raw HTTP/1.1 subscriber for the compression tests: keeps the compressed body bytes as they arrive and
 * decodes them with node:zlib (gzip or zlib format, per `Content-Encoding`) as a browser would, event by
 * event. Test support only.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import zlib from 'node:zlib';
import { EventStreamParser, type ParsedEvent } from '../protocol/parse.js';

export interface CompressedClient {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body bytes as received (compressed when `content-encoding` says so). */
  readonly raw: Buffer[];
  readonly events: ParsedEvent[];
  readonly retries: number[];
  /** The decoded text so far. */
  text: string;
  /** Set when the decoder rejected the bytes. */
  decodeError: Error | null;
  /** Resolves once the response ended and the decoder finished (or failed). */
  readonly ended: Promise<void>;
  /** Resolves when `predicate` holds (checked after every decoded chunk); rejects after `ms`. */
  until(predicate: (c: CompressedClient) => boolean, ms?: number): Promise<void>;
  /** The raw bytes received so far, as one buffer. */
  rawBytes(): Buffer;
  close(): void;
}

/** `cutAfter`: the connection is destroyed once this many body bytes arrived (the rest is dropped). */
export function connectCompressed(
  url: string,
  headers: Record<string, string> = {},
  cutAfter = Number.POSITIVE_INFINITY,
): Promise<CompressedClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const waiters: { predicate: (c: CompressedClient) => boolean; resolve: () => void }[] = [];
      let endResolve!: () => void;
      const coding = res.headers['content-encoding'];
      const decoder =
        coding === 'gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : null;
      const client: CompressedClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        raw: [],
        events: [],
        retries: [],
        text: '',
        decodeError: null,
        ended: new Promise<void>((r) => {
          endResolve = r;
        }),
        until(predicate, ms = 5000) {
          if (predicate(client)) return Promise.resolve();
          return new Promise<void>((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`timed out; got: ${client.text}`)), ms);
            waiters.push({
              predicate,
              resolve: () => {
                clearTimeout(timer);
                ok();
              },
            });
          });
        },
        rawBytes: () => Buffer.concat(client.raw),
        close: () => req.destroy(),
      };
      const parser = new EventStreamParser({
        onEvent: (e) => client.events.push(e),
        onRetry: (r) => client.retries.push(r),
      });
      const onText = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        client.text += text;
        parser.push(chunk);
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.predicate(client)) waiters.splice(i, 1)[0]!.resolve();
        }
      };
      const finish = () => endResolve();
      if (decoder === null) {
        res.on('data', (chunk: Buffer) => {
          client.raw.push(chunk);
          onText(chunk);
        });
        res.on('end', finish);
        res.on('close', finish);
      } else {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          if (received >= cutAfter) return;
          const kept = chunk.subarray(0, cutAfter - received);
          received += kept.length;
          client.raw.push(kept);
          decoder.write(kept);
          if (received >= cutAfter) req.destroy();
        });
        decoder.on('data', onText);
        decoder.on('error', (error) => {
          client.decodeError = error;
          finish();
        });
        decoder.on('end', finish);
        res.on('end', () => decoder.end());
        res.on('close', () => setTimeout(finish, 50));
      }
      resolve(client);
    });
    req.on('error', reject);
  });
}
