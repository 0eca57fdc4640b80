/**
 * What every demo page shares: subscribing to hub topics with Crier's client (draft-07 `topic=` selectors,
 * `Last-Event-ID` from the page's snapshot), a connection status pill, and small DOM helpers.
 */
import { CrierEventSource, type CrierEventSourceInit, mercureUrl } from '../../src/client/index.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveOptions {
  /** The hub's path or URL (from the app's snapshot API). */
  hub: string;
  topics: string[];
  /** Resume after this ID (the snapshot's): the hub replays what was published since. */
  lastEventId?: string | null;
  /** Conflation: at most this many updates per second per topic (query `maxRate`). */
  maxRate?: number;
  /** Event types to listen to; each gets `onEvent`. */
  types: string[];
  onEvent(type: string, data: string, id: string): void;
  onStatus?(status: LiveStatus, detail?: string): void;
  /** The hub could not replay from `lastEventId` (history lost, e.g. after a restart): reload the snapshot. */
  onGap?(): void;
  /** Called when the stream failed for good (401, 403…): the page decides what to do. */
  onFatal?(message: string): void;
  init?: CrierEventSourceInit;
}

export function subscribe(options: LiveOptions): CrierEventSource {
  const url = mercureUrl(new URL(options.hub, location.href), {
    protocol: 'draft-07',
    topics: options.topics,
  });
  if (options.maxRate !== undefined && options.maxRate > 0)
    url.searchParams.set('maxRate', String(options.maxRate));
  const source = new CrierEventSource(url, {
    lastEventId: options.lastEventId ?? undefined,
    retry: 1_000,
    maxRetryDelay: 8_000,
    ...options.init,
  });
  const status = options.onStatus ?? (() => {});
  status('connecting');
  source.onopen = () => status('live');
  source.onerror = (event) => {
    if (event.willReconnect) status('reconnecting', event.message);
    else {
      status('offline', event.message);
      options.onFatal?.(event.message);
    }
  };
  source.ongap = () => options.onGap?.();
  for (const type of options.types) {
    source.addEventListener(type, (event) => {
      const message = event as MessageEvent<string>;
      options.onEvent(type, message.data, message.lastEventId);
    });
  }
  return source;
}

const LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** Updates a `.status-pill` element. */
export function showStatus(pill: HTMLElement, status: LiveStatus, detail?: string): void {
  pill.dataset.status = status;
  pill.textContent = LABELS[status];
  pill.title = detail ?? '';
}

export function $(selector: string, root: ParentNode = document): HTMLElement {
  const el = root.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

/** Creates an element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', ...init });
  if (!res.ok) throw Object.assign(new Error(`${url}: ${res.status}`), { status: res.status });
  return (await res.json()) as T;
}

/** Restarts a CSS animation class on an element (flash on change). */
export function flash(node: Element, className: string): void {
  node.classList.remove(className);
  void (node as HTMLElement).offsetWidth; // reflow, so the animation starts again
  node.classList.add(className);
}

export function timeAgo(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.round(m / 60)} h ago`;
}
