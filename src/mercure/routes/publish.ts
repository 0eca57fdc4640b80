/**
 * The publish routes: Mercure's form POST on the hub endpoint (both drafts) and Crier's JSON API
 * (`POST /v1/publish`, one update or an all-or-nothing batch). Both authenticate the publisher, apply
 * `--publish-rate`, validate and authorize every update, then store it.
 *
 * Where a publish enters: `form` / `json` → `validateUpdate` → `Hub.publish` (src/server).
 */
import type { Update } from '../../engines/engine.js';
import { EngineError } from '../../engines/errors.js';
import { type AuthContext, headerValue, type ProtocolVersion } from '../auth/index.js';
import { HubError } from '../errors.js';
import { headersOf, mediaType, type Req, type Res, readBody, requireForm, sendJson } from '../http.js';
import { parseForm, type UpdateInput, updateFromForm, utf8Body, validateUpdate } from '../update.js';
import type { RouteContext } from './context.js';
import { protocolOf } from './protocol.js';

export class PublishRoute {
  constructor(private readonly ctx: RouteContext) {}

  /** A Mercure publish: a form body with `topic`, `data`, `private`, `id`, `type`, `retry`. */
  async form(req: Req, res: Res): Promise<void> {
    const { ctx } = this;
    requireForm(req, 'Publish with');
    const protocol = protocolOf(ctx.config, ctx.hubUrl, req, new URLSearchParams());
    const publisher = await this.authenticate(req, protocol);
    const body = await readBody(req, ctx.config.maxBody);
    const update = validateUpdate(updateFromForm(parseForm(body)), {
      protocol,
      hubUrl: ctx.hubUrl,
      maxTopics: ctx.config.maxTopics,
      uuidIds: ctx.config.ids === 'uuid',
    });
    ctx.auth.authorizePublish(publisher, update.topics);
    const stored = await this.store(update);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(stored);
  }

  /** `POST /v1/publish`: one JSON update, or an array of them stored all or nothing. */
  async json(req: Req, res: Res): Promise<void> {
    const { ctx } = this;
    const type = mediaType(req);
    if (type !== 'application/json') {
      throw new HubError(
        'UNSUPPORTED_MEDIA_TYPE',
        `POST /v1/publish takes Content-Type application/json, got ${type || 'none'}.`,
      );
    }
    const protocol = protocolOf(ctx.config, ctx.hubUrl, req, new URLSearchParams());
    const publisher = await this.authenticate(req, protocol);
    const body = await readBody(req, ctx.config.maxBody);
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Body(body, true));
    } catch (error) {
      if (error instanceof HubError) throw error;
      throw new HubError('INVALID_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
    }
    const batch = Array.isArray(parsed);
    const items = batch ? (parsed as unknown[]) : [parsed];
    if (items.length === 0) throw new HubError('INVALID_REQUEST', 'A batch must hold at least one update.');
    if (items.length > 1000)
      throw new HubError('INVALID_REQUEST', `A batch holds at most 1000 updates, got ${items.length}.`);
    // All or nothing: every update is validated and authorized before the first is stored.
    const updates = items.map((item, i) => {
      try {
        const update = validateUpdate(jsonInput(item), {
          protocol: '0.x',
          hubUrl: ctx.hubUrl,
          maxTopics: ctx.config.maxTopics,
          uuidIds: ctx.config.ids === 'uuid',
        });
        ctx.auth.authorizePublish(publisher, update.topics);
        return update;
      } catch (error) {
        if (batch && error instanceof HubError) {
          throw new HubError(error.code, `Update ${i}: ${error.message}`, { headers: { ...error.headers } });
        }
        throw error;
      }
    });
    const ids: string[] = [];
    for (const update of updates) ids.push(await this.store(update));
    sendJson(res, 200, batch ? { ids } : { id: ids[0] });
  }

  private async authenticate(req: Req, protocol: ProtocolVersion): Promise<AuthContext> {
    const { ctx } = this;
    const authRequest = {
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: headersOf(req),
    };
    const publisher = await ctx.auth.authenticatePublisher(authRequest, protocol);
    if (ctx.publishLimiter !== null) {
      const key =
        headerValue(authRequest.headers, 'authorization') ??
        publisher.subject ??
        ctx.clientAddress.ofRequest(req);
      const wait = await ctx.publishLimiter.take(key);
      if (wait > 0) {
        ctx.metrics.publishes.inc({ status: '429' });
        throw new HubError(
          'RATE_LIMITED',
          `Publish rate limit of ${ctx.config.publishRate}/s reached for this token; retry after ${wait} s.`,
          {
            headers: { 'retry-after': String(wait) },
          },
        );
      }
    }
    return publisher;
  }

  private async store(update: Update): Promise<string> {
    const { ctx } = this;
    const timer = ctx.metrics.publishLatency.startTimer();
    try {
      const stored = await ctx.hub.publish(update.topics, update.data, {
        id: update.id,
        event: update.event,
        retry: update.retry,
        private: update.private,
      });
      ctx.metrics.publishes.inc({ status: '200' });
      return stored.id;
    } catch (error) {
      const mayBeStored = error instanceof EngineError && error.mayBeStored;
      const what = mayBeStored
        ? 'The update may have been stored, but it was not confirmed'
        : 'The update was not stored';
      throw new HubError('UNAVAILABLE', `${what}: ${(error as Error).message}`, { cause: error });
    } finally {
      timer();
    }
  }
}

function jsonInput(item: unknown): UpdateInput {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new HubError(
      'INVALID_REQUEST',
      'An update must be a JSON object with "topics" (or "topic") and "data".',
    );
  }
  const o = item as Record<string, unknown>;
  const topics = o.topics ?? (o.topic === undefined ? undefined : [o.topic]);
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
    throw new HubError('INVALID_REQUEST', '"topics" must be a non-empty array of strings.');
  }
  for (const key of ['data', 'id', 'type'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string')
      throw new HubError('INVALID_REQUEST', `"${key}" must be a string.`);
  }
  if (o.private !== undefined && typeof o.private !== 'boolean')
    throw new HubError('INVALID_REQUEST', '"private" must be true or false.');
  if (o.retry !== undefined && !(typeof o.retry === 'number' && Number.isInteger(o.retry) && o.retry >= 0)) {
    throw new HubError('INVALID_REQUEST', '"retry" must be a non-negative integer (milliseconds).');
  }
  return {
    topics: topics as string[],
    data: o.data as string | undefined,
    id: o.id as string | undefined,
    type: o.type as string | undefined,
    retry: o.retry as number | undefined,
    private: o.private as boolean | undefined,
  };
}
