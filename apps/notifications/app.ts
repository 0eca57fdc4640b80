/**
 * The social page. Signing in makes the demo backend set two cookies: its own session, and
 * `mercureAuthorization` (path `/.well-known/mercure`, HttpOnly) with a subscriber JWT that grants only this
 * user's private topic. The page's EventSource sends that cookie to the hub by itself; the hub delivers a
 * private update only to subscribers whose token grants its topic, so no one sees another's notifications.
 * The inbox is loaded first, with the hub ID of its newest notification; subscribing from that ID means
 * nothing published in between is lost. Notifications are keyed by their ID, so a replayed one is not
 * shown twice.
 */
import type { CrierEventSource } from '../../src/client/index.js';
import { icons } from '../shared/icons.js';
import { $, el, getJson, showStatus, subscribe, timeAgo } from '../shared/live.js';
import type { Inbox, Notification, NotificationKind, Person } from './model.js';

let inbox: Inbox | undefined;
let source: CrierEventSource | undefined;
const items = new Map<string, Notification>();
const pill = $('#status');

const KIND_ICON: Record<NotificationKind, () => string> = {
  like: () => icons.heart(14),
  comment: () => icons.comment(14),
  follow: () => icons.follow(14),
  message: () => icons.message(14),
  mention: () => icons.at(14),
};

function sentence(n: Notification): string {
  switch (n.kind) {
    case 'like':
      return `liked your post “${n.text}”`;
    case 'comment':
      return `commented: “${n.text}”`;
    case 'follow':
      return 'started following you';
    case 'message':
      return `sent you a message: “${n.text}”`;
    case 'mention':
      return `mentioned you in “${n.text}”`;
  }
}

function avatar(p: Person, size = 40): HTMLElement {
  const a = el(
    'span',
    'avatar',
    p.name
      .split(' ')
      .map((w) => w[0])
      .join(''),
  );
  a.style.setProperty('--c', p.color);
  a.style.setProperty('--s', `${size}px`);
  return a;
}

async function boot(): Promise<void> {
  try {
    inbox = await getJson<Inbox>('/notifications/api/me');
  } catch {
    showSignIn();
    return;
  }
  showApp();
}

async function showSignIn(): Promise<void> {
  source?.close();
  $('#signin').hidden = false;
  $('#app').hidden = true;
  $('#bell-wrap').hidden = true;
  $('#me').hidden = true;
  pill.hidden = true;
  const people = await getJson<Person[]>('/notifications/api/people');
  const box = $('#people');
  box.replaceChildren();
  for (const p of people) {
    const b = el('button', 'person');
    b.dataset.user = p.id;
    b.append(avatar(p, 44));
    const text = el('span', 'person-text');
    text.append(el('strong', '', p.name), el('span', 'muted', `@${p.id}`));
    b.append(text);
    b.addEventListener('click', async () => {
      inbox = await getJson<Inbox>('/notifications/api/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: p.id }),
      });
      showApp();
    });
    box.append(b);
  }
}

function showApp(): void {
  if (!inbox) return;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#bell-wrap').hidden = false;
  pill.hidden = false;
  document.body.dataset.user = inbox.me.id;
  const me = $('#me');
  me.hidden = false;
  me.replaceChildren(avatar(inbox.me, 32));
  const out = el('button', 'btn ghost');
  out.innerHTML = `${icons.logout(15)}<span>Sign out</span>`;
  out.addEventListener('click', async () => {
    await fetch('/notifications/api/logout', { method: 'POST' });
    items.clear();
    delete document.body.dataset.user;
    showSignIn();
  });
  me.append(out);
  $('#hello').textContent = `Hello, ${inbox.me.name.split(' ')[0]}`;
  items.clear();
  for (const n of inbox.notifications) items.set(n.id, n);
  renderPeople();
  renderInbox();
  connect();
}

function connect(): void {
  if (!inbox) return;
  source?.close();
  source = subscribe({
    hub: inbox.hub,
    topics: [inbox.topic],
    // With no notification yet, replay what the hub holds for this user: nothing sent meanwhile is missed.
    lastEventId: inbox.lastEventId ?? 'earliest',
    types: ['notification'],
    onEvent: (_type, data) => receive(JSON.parse(data) as Notification),
    onStatus: (status, detail) => showStatus(pill, status, detail),
    // The hub no longer holds our last ID (a busy hub's history moved on): merge the inbox, and keep this
    // stream, which goes on with everything the hub still holds, then live updates. Subscribing again from
    // the inbox's ID, older still, would only report the same gap again, and again.
    onGap: () => void reload(false),
    // 401: the cookie's token expired or was cleared. /api/me sets a fresh one; then subscribe again.
    onFatal: () => void reload(true),
  });
}

let reloading = false;
let resubscribeAfterReload = false;
async function reload(resubscribe: boolean): Promise<void> {
  resubscribeAfterReload ||= resubscribe;
  if (reloading) return; // the reload under way also subscribes again if asked to meanwhile
  reloading = true;
  try {
    inbox = await getJson<Inbox>('/notifications/api/me');
    for (const n of inbox.notifications) if (!items.has(n.id)) items.set(n.id, n);
    renderInbox();
    if (resubscribeAfterReload) connect();
    resubscribeAfterReload = false;
  } catch {
    resubscribeAfterReload = false;
    showSignIn();
  } finally {
    reloading = false;
  }
}

function receive(n: Notification): void {
  if (items.has(n.id)) return; // replayed after a reconnect: already shown
  items.set(n.id, n);
  renderInbox();
  toast(n);
  const bell = $('#bell');
  bell.animate(
    [
      { transform: 'rotate(0)' },
      { transform: 'rotate(14deg)' },
      { transform: 'rotate(-12deg)' },
      { transform: 'rotate(6deg)' },
      { transform: 'rotate(0)' },
    ],
    { duration: 600, easing: 'ease-out' },
  );
}

function sorted(): Notification[] {
  return [...items.values()].sort((a, b) => b.at - a.at).slice(0, 100);
}

function notificationItem(n: Notification): HTMLElement {
  const li = el('li', n.read ? 'note' : 'note unread');
  li.dataset.id = n.id;
  li.dataset.to = n.to;
  const av = el('span', 'note-avatar');
  av.append(avatar(n.from, 38));
  const kind = el('span', `kind ${n.kind}`);
  kind.innerHTML = KIND_ICON[n.kind]();
  av.append(kind);
  const body = el('div', 'note-body');
  const line = el('p');
  line.append(el('strong', '', n.from.name), document.createTextNode(` ${sentence(n)}`));
  body.append(line, el('time', 'muted', timeAgo(n.at)));
  li.append(av, body);
  return li;
}

function renderInbox(): void {
  const list = sorted();
  const unread = list.filter((n) => !n.read).length;
  const badge = $('#badge');
  badge.hidden = unread === 0;
  badge.textContent = unread > 99 ? '99+' : String(unread);
  $('#unread-chip').textContent = `${unread} unread`;
  const box = $('#inbox');
  box.replaceChildren(...list.slice(0, 30).map(notificationItem));
  if (list.length === 0)
    box.append(el('li', 'empty muted', 'Nothing yet. Activity shows up here the moment it happens.'));
  const panel = $('#panel-list');
  panel.replaceChildren(...list.slice(0, 8).map(notificationItem));
  if (list.length === 0) panel.append(el('li', 'empty muted', 'You are all caught up.'));
}

function renderPeople(): void {
  if (!inbox) return;
  const box = $('#people-cards');
  box.replaceChildren();
  for (const p of inbox.people.filter((x) => x.demo && x.id !== inbox!.me.id)) {
    const card = el('article', 'person-card card');
    card.dataset.user = p.id;
    const head = el('div', 'pc-head');
    const names = el('div');
    names.append(el('strong', '', p.name), el('span', 'muted', `@${p.id}`));
    head.append(avatar(p, 48), names);
    const post = el('div', 'pc-post');
    post.append(el('span', 'muted', 'Latest post'), el('p', '', POST_OF[p.id] ?? 'Hello world'));
    const actions = el('div', 'pc-actions');
    const action = (kind: NotificationKind, label: string, text?: () => string | undefined) => {
      const b = el('button', 'btn');
      b.dataset.kind = kind;
      b.innerHTML = `${KIND_ICON[kind]()}<span>${label}</span>`;
      b.addEventListener('click', async () => {
        const body = text?.();
        if (text && body === undefined) return;
        b.disabled = true;
        await fetch('/notifications/api/act', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ to: p.id, kind, text: kind === 'like' ? POST_OF[p.id] : body }),
        });
        b.disabled = false;
        b.classList.add('done');
        setTimeout(() => b.classList.remove('done'), 900);
      });
      return b;
    };
    const input = el('input', 'pc-input');
    input.placeholder = `Message ${p.name.split(' ')[0]}…`;
    const send = action('message', 'Send', () => input.value.trim() || undefined);
    send.classList.add('primary');
    send.addEventListener('click', () => setTimeout(() => (input.value = ''), 0));
    const form = el('div', 'pc-form');
    form.append(input, send);
    actions.append(action('like', 'Like'), action('comment', 'Comment'), action('follow', 'Follow'));
    card.append(head, post, actions, form);
    box.append(card);
  }
}

const POST_OF: Record<string, string> = {
  alice: 'Notes from the SSE meetup',
  bob: 'Trail run, 21 km',
  carol: 'Release 2.0 is out!',
  dave: 'Rooftop garden, week 6',
};

function toast(n: Notification): void {
  const box = $('#toasts');
  const t = el('div', 'toast card');
  t.dataset.id = n.id;
  t.append(notificationItem(n));
  box.prepend(t);
  while (box.children.length > 3) box.lastElementChild?.remove();
  setTimeout(() => {
    t.classList.add('leaving');
    setTimeout(() => t.remove(), 300);
  }, 5_000);
}

function setupBell(): void {
  $('#bell-icon').innerHTML = icons.bell(20);
  const bell = $('#bell');
  const panel = $('#panel');
  bell.addEventListener('click', (event) => {
    event.stopPropagation();
    panel.hidden = !panel.hidden;
    bell.setAttribute('aria-expanded', String(!panel.hidden));
  });
  document.addEventListener('click', (event) => {
    if (!panel.hidden && !panel.contains(event.target as Node)) {
      panel.hidden = true;
      bell.setAttribute('aria-expanded', 'false');
    }
  });
  $('#mark-read').addEventListener('click', async () => {
    for (const n of items.values()) n.read = true;
    renderInbox();
    await fetch('/notifications/api/read', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
  });
}

setInterval(() => {
  for (const t of document.querySelectorAll<HTMLElement>('.note time')) {
    const id = t.closest<HTMLElement>('.note')?.dataset.id;
    const n = id ? items.get(id) : undefined;
    if (n) t.textContent = timeAgo(n.at);
  }
}, 15_000);

setupBell();
void boot();
