/**
 * Reading and validating a publish: the Mercure form body (`topic`, `data`, `private`, `id`, `type`,
 * `retry`) and the native JSON API share `validateUpdate`, so both refuse exactly the same input with the
 * status the drafts name. Nothing reaches the engine before every field has passed.
 */
import { randomUUID } from 'node:crypto';
import type { Update } from '../engines/engine.js';
import type { ProtocolVersion } from './auth/index.js';
import { HubError } from './errors.js';

/** An update as a publisher describes it, before validation. */
export interface UpdateInput {
  topics: readonly string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  retry?: string | number;
}

export interface UpdateRules {
  protocol: ProtocolVersion;
  /** The hub's public URL: topics resolving under its path are reserved. */
  hubUrl: URL;
  maxTopics: number;
  /**
   * Whether an update published without an ID gets a `urn:uuid:` one here (default), or none, so the
   * engine generates its own (`--ids sequence|opaque`, src/mercure/event-ids.ts).
   */
  uuidIds?: boolean;
}

// C0 and C1 controls, DEL, and Unicode format characters (draft-08 forbids them in topics, IDs and types).
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

/**
 * Decodes a request body as UTF-8 strictly: bytes that are not UTF-8 are a 400, never replaced by U+FFFD
 * (which would store something the publisher did not send). `keepBom`: a leading byte order mark stays in
 * the text (JSON bodies: JSON.parse refuses it) instead of being dropped (form bodies).
 */
export function utf8Body(body: Buffer, keepBom = false): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: keepBom }).decode(body);
  } catch {
    throw new HubError('INVALID_REQUEST', 'The request body is not valid UTF-8.');
  }
}

/** Parses an `application/x-www-form-urlencoded` body strictly: a bad escape or bad UTF-8 is a 400. */
export function parseForm(body: Buffer): Array<[string, string]> {
  return parseUrlEncoded(utf8Body(body), 'form body');
}

/**
 * Parses `application/x-www-form-urlencoded` text (a form body, or a query string without its `?`)
 * strictly: a `%` not followed by two hex digits, or escapes that do not decode to UTF-8, are a 400 (the
 * URL standard's parser would keep the first as text and turn the second into U+FFFD).
 */
export function parseUrlEncoded(text: string, what: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  if (text === '') return fields;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    fields.push([decodeField(rawName, what), decodeField(rawValue, what)]);
  }
  return fields;
}

function decodeField(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
    throw new HubError(
      'INVALID_REQUEST',
      `Malformed ${what}: "${shown}" has an invalid percent-escape or encodes invalid UTF-8.`,
    );
  }
}

/** The Mercure publish form as an `UpdateInput` (unknown fields are ignored, as the drafts require). */
export function updateFromForm(fields: ReadonlyArray<[string, string]>): UpdateInput {
  const input: { -readonly [K in keyof UpdateInput]: UpdateInput[K] } = { topics: [] };
  const topics: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of fields) {
    switch (name) {
      case 'topic':
        topics.push(value);
        break;
      case 'private':
        input.private = true; // presence alone marks it private, whatever the value
        break;
      case 'data':
      case 'id':
      case 'type':
      case 'retry':
        if (seen.has(name))
          throw new HubError('INVALID_REQUEST', `The field "${name}" must appear at most once.`);
        seen.add(name);
        input[name] = value;
        break;
      default:
        break;
    }
  }
  input.topics = topics;
  return input;
}

/**
 * Checks every field and returns the update to store, with a generated `urn:uuid:` ID when none was given
 * (unless `rules.uuidIds` is false: the engine generates one then).
 */
export function validateUpdate(input: UpdateInput, rules: UpdateRules): Update {
  const { topics } = input;
  // JSON escapes can carry lone surrogates ("\ud800"), which have no UTF-8 form: refuse them here as a 400
  // rather than let the encoder fail later, in the store, as a 503.
  const strings: Array<[string, unknown]> = [
    ['data', input.data],
    ['id', input.id],
    ['type', input.type],
    ...(Array.isArray(topics) ? topics.map((t): [string, unknown] => ['topic', t]) : []),
  ];
  for (const [name, value] of strings) {
    if (typeof value === 'string' && !value.isWellFormed()) {
      throw new HubError(
        'INVALID_REQUEST',
        `"${name}" is not well-formed Unicode (it holds a lone surrogate).`,
      );
    }
  }
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new HubError('INVALID_REQUEST', 'Missing "topic": an update needs a topic.');
  }
  if (topics.length > rules.maxTopics) {
    // draft-08 §5: too many `topic` fields is a 413 ("Content Too Large"); 0.x hubs answer 400.
    throw new HubError(
      rules.protocol === '1.0' ? 'TOO_MANY_TOPIC_FIELDS' : 'TOO_MANY_TOPICS',
      `An update has ${topics.length} topics; the most accepted is ${rules.maxTopics}.`,
    );
  }
  for (const topic of topics) {
    if (typeof topic !== 'string' || topic === '') {
      throw new HubError('INVALID_REQUEST', 'A topic must be a non-empty string.');
    }
    if (FORBIDDEN.test(topic)) {
      throw new HubError('INVALID_REQUEST', 'A topic must not contain control or format characters.');
    }
    if (isReservedTopic(topic, rules.hubUrl)) {
      // draft-08 §5 makes this a 400 for any token; 0.x hubs answer 403.
      throw new HubError(
        rules.protocol === '1.0' ? 'INVALID_REQUEST' : 'RESERVED_TOPIC',
        `The topic "${topic}" is in the hub's reserved namespace (${rules.hubUrl.pathname}); only the hub publishes there.`,
      );
    }
    if (rules.protocol === '1.0' && topic === '*') {
      throw new HubError(
        'INVALID_REQUEST',
        'A topic cannot be exactly "*": it is the wildcard matcher, so no subscriber could select it alone.',
      );
    }
  }
  const data = input.data ?? '';
  if (typeof data !== 'string') throw new HubError('INVALID_REQUEST', '"data" must be a string.');
  let id = input.id;
  if (id !== undefined) {
    if (typeof id !== 'string') throw new HubError('INVALID_REQUEST', '"id" must be a string.');
    if (id === '') id = undefined;
    else if (id.startsWith('#')) {
      throw new HubError(
        'INVALID_REQUEST',
        'An "id" must not start with "#" (reserved for IDs the hub generates).',
      );
    } else if (id === 'earliest') {
      throw new HubError('INVALID_REQUEST', '"earliest" is reserved and cannot be an update ID.');
    } else if (FORBIDDEN.test(id)) {
      throw new HubError(
        'INVALID_REQUEST',
        'An "id" must not contain CR, LF, NUL or other control characters.',
      );
    }
  }
  const type = input.type === '' ? undefined : input.type;
  if (type !== undefined && (typeof type !== 'string' || FORBIDDEN.test(type))) {
    throw new HubError(
      'INVALID_REQUEST',
      'A "type" must not contain CR, LF, NUL or other control characters.',
    );
  }
  if (rules.protocol === '1.0' && type === 'mercure') {
    throw new HubError(
      'INVALID_REQUEST',
      'The event type "mercure" is reserved for the events the hub generates (subscription events).',
    );
  }
  let retry: number | undefined;
  if (input.retry !== undefined && input.retry !== '') {
    const text = String(input.retry);
    if (!/^\d{1,15}$/.test(text)) {
      throw new HubError(
        'INVALID_REQUEST',
        `"retry" must be a number of milliseconds (digits only), got "${text.slice(0, 20)}".`,
      );
    }
    retry = Number(text);
  }
  return {
    topics: [...topics],
    data,
    id: id ?? (rules.uuidIds === false ? undefined : `urn:uuid:${randomUUID()}`),
    event: type,
    retry,
    private: input.private === true ? true : undefined,
  };
}

const UNRESERVED_ESCAPE = /%(2[dD]|2[eE]|[3][0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g;

/**
 * Whether a topic addresses the hub's reserved namespace: resolved against the hub's URL, with dot-segments
 * removed and escapes of unreserved characters decoded, its path is the hub's path or below it — whatever
 * the scheme or host, so an absolute topic cannot forge subscription events.
 */
export function isReservedTopic(topic: string, hubUrl: URL): boolean {
  let url: URL;
  try {
    url = new URL(topic, hubUrl);
  } catch {
    return false;
  }
  let path = url.pathname.replace(UNRESERVED_ESCAPE, (m) =>
    String.fromCharCode(Number.parseInt(m.slice(1), 16)),
  );
  try {
    path = new URL(path, 'http://x').pathname; // remove dot-segments the decoding exposed
  } catch {
    return false;
  }
  const base = hubUrl.pathname.replace(/\/$/, '');
  return path === base || path.startsWith(`${base}/`);
}
