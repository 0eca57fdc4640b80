/**
 * The social app's demo backend: demo sign-in (a session cookie for this backend and a
 * `mercureAuthorization` cookie holding a subscriber JWT limited to the user's own private topic), an
 * inbox per user, actions that notify another user, and background activity from the community.
 * Every notification is published as a *private* update to the recipient's topic: the hub delivers it only
 * to subscribers whose token grants that topic, so no one receives anyone else's notifications.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http.js';
import type { Outbox } from '../publisher.js';
import {
  COMMENTS,
  type Inbox,
  MESSAGES,
  type Notification,
  type NotificationKind,
  type Person,
  POSTS,
  userTopic,
} from './model.js';

export const PEOPLE: Person[] = [
  { id: 'alice', name: 'Alice Martin', color: '#6366f1', demo: true },
  { id: 'bob', name: 'Bob Okafor', color: '#0ea5e9', demo: true },
  { id: 'carol', name: 'Carol Nguyen', color: '#f43f5e', demo: true },
  { id: 'dave', name: 'Dave Larsen', color: '#10b981', demo: true },
  { id: 'maya', name: 'Maya Rossi', color: '#f59e0b', demo: false },
  { id: 'theo', name: 'Theo Haddad', color: '#8b5cf6', demo: false },
  { id: 'ines', name: 'Inès Moreau', color: '#ec4899', demo: false },
  { id: 'sam', name: 'Sam Tanaka', color: '#14b8a6', demo: false },
];

const SESSION_COOKIE = 'crier_demo_user';
const INBOX_SIZE = 100;
const TOKEN_TTL_SECONDS = 3_600;
const KINDS: NotificationKind[] = [
  'like',
  'like',
  'like',
  'comment',
  'comment',
  'follow',
  'message',
  'mention',
];

export interface NotificationsOptions {
  hubPath: string;
  signSubscriberToken(subscribe: string[], ttlSeconds: number): Promise<string>;
  /** Mean milliseconds between background notifications to each user. Default 6,000; 0 disables. */
  activityMs?: number;
  random?: () => number;
}

export class NotificationsBackend {
  private readonly secret = randomBytes(32);
  private readonly inboxes = new Map<string, Notification[]>();
  private readonly lastIds = new Map<string, string>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly random: () => number;

  constructor(
    private readonly outbox: Outbox,
    private readonly options: NotificationsOptions,
  ) {
    this.random = options.random ?? Math.random;
    for (const p of PEOPLE) if (p.demo) this.inboxes.set(p.id, []);
    const activityMs = options.activityMs ?? 6_000;
    if (activityMs > 0) {
      const demoCount = PEOPLE.filter((p) => p.demo).length;
      this.timer = setInterval(() => {
        if (this.random() < 0.8) this.communityActivity();
      }, activityMs / demoCount);
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Sends a notification to `to` from `from`, as the backend of a social app would after an action. */
  async notify(from: Person, to: string, kind: NotificationKind, text?: string): Promise<Notification> {
    const pick = <T>(list: readonly T[]): T => list[Math.floor(this.random() * list.length)]!;
    const body =
      text ??
      (kind === 'comment'
        ? pick(COMMENTS)
        : kind === 'message'
          ? pick(MESSAGES)
          : kind === 'follow'
            ? ''
            : pick(POSTS));
    const notification: Notification = {
      id: randomUUID(),
      kind,
      from,
      to,
      text: body,
      at: Date.now(),
      read: false,
    };
    const inbox = this.inboxes.get(to);
    if (inbox) {
      inbox.unshift(notification);
      if (inbox.length > INBOX_SIZE) inbox.length = INBOX_SIZE;
    }
    const id = await this.outbox.push({
      topics: [userTopic(to)],
      data: JSON.stringify(notification),
      type: 'notification',
      private: true,
    });
    if (id !== undefined) this.lastIds.set(to, id);
    return notification;
  }

  communityActivity(): void {
    const demo = PEOPLE.filter((p) => p.demo);
    const to = demo[Math.floor(this.random() * demo.length)]!;
    const others = PEOPLE.filter((p) => p.id !== to.id);
    const from = others[Math.floor(this.random() * others.length)]!;
    void this.notify(from, to.id, KINDS[Math.floor(this.random() * KINDS.length)]!);
  }

  // ---- sessions --------------------------------------------------------------------------------------

  private sign(user: string): string {
    return createHmac('sha256', this.secret).update(user).digest('base64url');
  }

  /** The signed-in user from the session cookie, or undefined. */
  userOf(req: IncomingMessage): Person | undefined {
    const cookie = req.headers.cookie ?? '';
    for (const part of cookie.split(';')) {
      const [name, value] = part.trim().split('=');
      if (name !== SESSION_COOKIE || value === undefined) continue;
      const [user, mac] = decodeURIComponent(value).split('.');
      if (user === undefined || mac === undefined) continue;
      const expected = Buffer.from(this.sign(user));
      const given = Buffer.from(mac);
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        return PEOPLE.find((p) => p.id === user && p.demo);
      }
    }
    return undefined;
  }

  /** Sets the session cookie and a fresh `mercureAuthorization` cookie (scoped to the hub's path). */
  private async setCookies(res: ServerResponse, user: Person): Promise<void> {
    const token = await this.options.signSubscriberToken([userTopic(user.id)], TOKEN_TTL_SECONDS);
    res.setHeader('Set-Cookie', [
      `${SESSION_COOKIE}=${encodeURIComponent(`${user.id}.${this.sign(user.id)}`)}; Path=/notifications; HttpOnly; SameSite=Lax; Max-Age=86400`,
      `mercureAuthorization=${token}; Path=${this.options.hubPath}; HttpOnly; SameSite=Strict; Max-Age=${TOKEN_TTL_SECONDS}`,
    ]);
  }

  private inbox(user: Person): Inbox {
    return {
      me: user,
      people: PEOPLE,
      hub: this.options.hubPath,
      topic: userTopic(user.id),
      notifications: this.inboxes.get(user.id) ?? [],
      lastEventId: this.lastIds.get(user.id) ?? null,
    };
  }

  /** The JSON API under /notifications/api/. Returns false for paths it does not serve. */
  async api(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path === 'people' && req.method === 'GET') {
      sendJson(
        res,
        200,
        PEOPLE.filter((p) => p.demo),
      );
      return true;
    }
    if (path === 'login' && req.method === 'POST') {
      const body = (await readJson(req)) as { user?: string } | undefined;
      const user = PEOPLE.find((p) => p.id === body?.user && p.demo);
      if (!user) {
        sendJson(res, 400, { error: 'Pick one of the demo users.' });
        return true;
      }
      await this.setCookies(res, user);
      sendJson(res, 200, this.inbox(user));
      return true;
    }
    if (path === 'logout' && req.method === 'POST') {
      res.setHeader('Set-Cookie', [
        `${SESSION_COOKIE}=; Path=/notifications; Max-Age=0`,
        `mercureAuthorization=; Path=${this.options.hubPath}; Max-Age=0`,
      ]);
      sendJson(res, 200, { ok: true });
      return true;
    }
    const user = this.userOf(req);
    if (!user) {
      if (['me', 'act', 'read'].includes(path)) {
        sendJson(res, 401, { error: 'Sign in first.' });
        return true;
      }
      return false;
    }
    if (path === 'me' && req.method === 'GET') {
      await this.setCookies(res, user); // refreshes the hub token before it expires
      sendJson(res, 200, this.inbox(user));
      return true;
    }
    if (path === 'act' && req.method === 'POST') {
      const body = (await readJson(req)) as { to?: string; kind?: string; text?: string } | undefined;
      const to = PEOPLE.find((p) => p.id === body?.to && p.demo && p.id !== user.id);
      const kind = body?.kind as NotificationKind;
      if (!to || !['like', 'comment', 'follow', 'message', 'mention'].includes(kind)) {
        sendJson(res, 400, {
          error: 'Say who to notify (another demo user) and how (like, comment, follow, message).',
        });
        return true;
      }
      const text =
        typeof body?.text === 'string' && body.text.trim() !== ''
          ? body.text.trim().slice(0, 280)
          : undefined;
      const notification = await this.notify(user, to.id, kind, text);
      sendJson(res, 200, notification);
      return true;
    }
    if (path === 'read' && req.method === 'POST') {
      const body = (await readJson(req)) as { ids?: string[] } | undefined;
      const ids = Array.isArray(body?.ids) ? new Set(body.ids) : undefined;
      for (const n of this.inboxes.get(user.id) ?? []) if (!ids || ids.has(n.id)) n.read = true;
      sendJson(res, 200, { ok: true });
      return true;
    }
    return false;
  }
}
