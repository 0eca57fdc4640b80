/**
 * The subscriptions API (`GET {hub}/subscriptions[/…]`, with `--subscriptions`): the active subscriptions
 * as draft-07 JSON-LD or draft-08 JSON documents, with an ETag from the last event ID so a poller can ask
 * "anything new?" cheaply. Reading them needs a subscriber token allowed to receive the private topic.
 */
import { AuthError, canReceive, headerValue } from '../auth/index.js';
import { HubError } from '../errors.js';
import { headersOf, quotedString, type Req, type Res, sendJson } from '../http.js';
import { subscriptionDocument } from '../subscriptions.js';
import type { RouteContext } from './context.js';
import { protocolOf } from './protocol.js';

export async function subscriptionsApi(ctx: RouteContext, req: Req, res: Res, path: string): Promise<void> {
  if (!ctx.config.subscriptions)
    throw new HubError('NOT_FOUND', 'The subscriptions API is off: start the hub with --subscriptions.');
  const params = new URL(req.url ?? '/', 'http://hub.invalid').searchParams;
  const protocol = protocolOf(ctx.config, ctx.hubUrl, req, params);
  const authRequest = {
    method: 'GET',
    url: req.url ?? '/',
    headers: headersOf(req),
  };
  const subscriber = await ctx.auth.authenticate(authRequest, 'subscriber', protocol);
  if (subscriber === null) throw ctx.auth.missingToken(protocol);
  if (!canReceive(subscriber.grants, { private: true, topics: [path] })) {
    throw new AuthError('INSUFFICIENT_SCOPE', 'The token does not allow reading these subscriptions.', {
      description: 'The access token does not allow reading these subscriptions',
    });
  }
  const base = ctx.hubUrl.pathname;
  const rest = path
    .slice(`${base}/subscriptions`.length)
    .split('/')
    .filter((s) => s !== '');
  let parts: string[];
  try {
    parts = rest.map((s) => decodeURIComponent(s));
  } catch {
    throw new HubError('INVALID_REQUEST', 'The subscription path has an invalid percent-escape.');
  }
  const lastEventId = ctx.engine.lastEventId ?? 'earliest';
  const etag = `"${lastEventId.replace(/["\\]/g, '')}"`;
  const inm = headerValue(headersOf(req), 'if-none-match');
  res.setHeader('etag', etag);
  res.setHeader('cache-control', 'must-revalidate');
  if (
    inm !== undefined &&
    (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
  ) {
    res.writeHead(304);
    res.end();
    return;
  }
  const v1 = protocol === '1.0';
  let filter: { match?: string; matchType?: string; subscriber?: string };
  if (v1 && parts.length >= 2) filter = { matchType: parts[0], match: parts[1], subscriber: parts[2] };
  else if (!v1 && parts.length >= 1) filter = { match: parts[0], subscriber: parts[1] };
  else if (parts.length === 0) filter = {};
  else throw new HubError('NOT_FOUND', 'Use /subscriptions/{match_type}/{match}[/{subscriber}].');
  if (parts.length > (v1 ? 3 : 2)) throw new HubError('NOT_FOUND', `Nothing is served at ${path}.`);
  const found = await ctx.findSubscriptions(filter);
  const single = filter.subscriber !== undefined;
  if (single && found[0] === undefined) throw new HubError('NOT_FOUND', 'No such active subscription.');
  if (v1) {
    // draft-08 §8.2: application/json, the cursor as `last-event-id` on the rel="mercure" Link header
    // (with the SHOULD attributes `type` and `content-type`), and the documents of §8.1 unchanged.
    res.setHeader(
      'link',
      `<${ctx.hubUrl.href}>; rel="mercure"; last-event-id=${quotedString(lastEventId)}; type="mercure"; content-type="application/json"`,
    );
    const body = single
      ? subscriptionDocument(base, found[0]!, protocol)
      : {
          id: path,
          type: 'subscriptions',
          subscriptions: found.map((s) => subscriptionDocument(base, s, protocol)),
        };
    return sendJson(res, 200, body);
  }
  if (single) {
    return sendJson(
      res,
      200,
      { ...subscriptionDocument(base, found[0]!, protocol), lastEventID: lastEventId },
      'application/ld+json',
    );
  }
  sendJson(
    res,
    200,
    {
      '@context': 'https://mercure.rocks/',
      id: path,
      type: 'Subscriptions',
      lastEventID: lastEventId,
      subscriptions: found.map((s) => subscriptionDocument(base, s, protocol, false)),
    },
    'application/ld+json',
  );
}
