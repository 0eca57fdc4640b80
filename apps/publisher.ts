/**
 * How the demo backends publish: Mercure form POSTs to the hub's publish endpoint with the publisher JWT,
 * over a keep-alive agent, exactly as a backend written in any language would. Nothing here calls the
 * `Hub` object directly: the simulators are clients of the hub's HTTP API.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface Update {
  /** The canonical topic first, then alternates (a subscriber matching any of them gets the update once). */
  topics: readonly string[];
  data: string;
  type?: string;
  private?: boolean;
}

export interface PublishResult {
  ok: boolean;
  /** The update's ID as the hub assigned it (the publish response body), when `ok`. */
  id?: string;
  /** The HTTP status, or 0 when the hub could not be reached. */
  status: number;
}

export function formBody(update: Update): string {
  const form = new URLSearchParams();
  for (const topic of update.topics) form.append('topic', topic);
  form.set('data', update.data);
  if (update.type !== undefined) form.set('type', update.type);
  if (update.private) form.set('private', 'on');
  return form.toString();
}

export class HubPublisher {
  readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private closed = false;
  /** Publishes answered 2xx and refused or failed since start (the simulators show these in logs). */
  readonly counts = { ok: 0, failed: 0 };

  constructor(
    hubUrl: string,
    private readonly token: string,
    maxSockets = 8,
  ) {
    this.url = new URL(hubUrl);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets });
    this.send = https ? httpsRequest : httpRequest;
  }

  /** POSTs one update; never rejects (a failure is `{ ok: false }`). */
  publish(update: Update): Promise<PublishResult> {
    if (this.closed) return Promise.resolve({ ok: false, status: 0 });
    const body = formBody(update);
    return new Promise((resolve) => {
      const req = this.send(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.token}`,
            'Content-Type': 'application/x-www-form-urlencoded',
            'Content-Length': Buffer.byteLength(body),
          },
          timeout: 5_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 1_024) text += chunk;
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const ok = status >= 200 && status < 300;
            if (ok) this.counts.ok++;
            else this.counts.failed++;
            resolve(ok ? { ok, status, id: text.trim() } : { ok, status });
          });
          res.on('error', () => resolve({ ok: false, status: res.statusCode ?? 0 }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('publish timed out')));
      req.on('error', () => {
        this.counts.failed++;
        resolve({ ok: false, status: 0 });
      });
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

/**
 * An ordered, retrying outbox for updates that must not be lost (match events, notifications): updates
 * go out one at a time in order; when the hub is down the outbox waits and retries with backoff, up to
 * `maxQueued` updates (the oldest are dropped beyond that, and counted).
 */
export class Outbox {
  private readonly queue: { update: Update; done: (id: string | undefined) => void }[] = [];
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(
    private readonly publisher: HubPublisher,
    private readonly maxQueued = 10_000,
  ) {}

  /** Queues an update; resolves with its ID once the hub has accepted it (undefined if dropped or closed). */
  push(update: Update): Promise<string | undefined> {
    return new Promise((done) => {
      if (this.closed) return done(undefined);
      this.queue.push({ update, done });
      if (this.queue.length > this.maxQueued) {
        this.queue.shift()?.done(undefined);
        this.dropped++;
      }
      void this.drain();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let delay = 100;
    while (!this.closed && this.queue.length > 0) {
      const head = this.queue[0]!;
      const result = await this.publisher.publish(head.update);
      if (result.ok) {
        this.queue.shift();
        head.done(result.id);
        delay = 100;
      } else if (result.status >= 400 && result.status < 500 && result.status !== 429) {
        this.queue.shift(); // refused for good (a bug, not an outage): do not retry it forever
        head.done(undefined);
      } else {
        await new Promise<void>((r) => {
          this.timer = setTimeout(r, delay);
        });
        delay = Math.min(delay * 2, 2_000);
      }
    }
    this.running = false;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const item of this.queue.splice(0)) item.done(undefined);
  }
}
