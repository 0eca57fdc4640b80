/**
 * `crier token`: mints a publisher or subscriber JWT for this hub and prints it, like Centrifugo's
 * `gentoken`. HMAC-signed (HS256 by default) with `--key`, or else with the key the hub is configured with
 * (CRIER_JWT_KEY, CRIER_PUBLISHER_JWT_KEY / CRIER_SUBSCRIBER_JWT_KEY, the MERCURE_* variables, or a
 * `--config` file; `--dev` uses the development key). Two claim shapes, as the hub accepts them:
 *
 * - `--claims 0.x` (default): a `mercure` claim, `{ "mercure": { "publish": [...], "subscribe": [...] } }`.
 * - `--claims 1.0`: an RFC 9068 access token (`typ: at+jwt`) with Mercure `authorization_details`, whose
 *   audience is the hub URL (`--audience`, default the configured public URL or http://HOST:PORT/.well-known/mercure)
 *   and issuer the first `--issuer` the hub accepts.
 */
import { z } from 'zod';
import { ConfigError, DEV_JWT_KEY, envOf, loadConfig, valueSchemas } from '../mercure/config.js';
import { mintAccessToken, mintToken } from '../mercure/publisher.js';

const USAGE = `Usage: crier token [--publish SELECTORS] [--subscribe SELECTORS] [options]

Mints a JWT for this hub and prints it. Selectors are comma-separated topics or URI templates ('*' for all).

Options:
  --publish LIST       Topics the token may publish to.
  --subscribe LIST     Topics whose private updates the token may receive.
  --ttl DURATION       Lifetime: 3600, 90s, 15m, 12h, 30d. [default: 1h]
  --key SECRET         HMAC secret to sign with. Default: the hub's configured key (--jwt-key, or
                       --publisher-jwt-key / --subscriber-jwt-key, from CRIER_*/MERCURE_* or --config).
  --alg ALG            HS256, HS384 or HS512. [default: the configured algorithm, else HS256]
  --claims SHAPE       0.x (a "mercure" claim) or 1.0 (an at+jwt access token). [default: 0.x]
  --subject SUB        The token's subject (sub).
  --payload JSON       Mercure payload, shown in subscription events.
  --audience URL       1.0: the hub URL the token is for. [default: the configured hub URL]
  --issuer ISS         1.0: the issuer. [default: the first --issuer the hub accepts]
  --config FILE, --dev  Read the hub's configuration as 'crier serve' does.
  --help               Show this help.

Examples:
  crier token --publish '*'                                   # a publisher token for every topic
  crier token --subscribe 'https://example.com/users/42/{+rest}' --ttl 15m
  CRIER_JWT_KEY=secret crier token --publish '*' --subscribe '*' --claims 1.0 --issuer https://auth.example`;

const HMAC = z.enum(['HS256', 'HS384', 'HS512'], { error: 'expected HS256, HS384 or HS512' });

const FLAGS = {
  '--publish': valueSchemas.list,
  '--subscribe': valueSchemas.list,
  '--ttl': valueSchemas.duration.refine((ms) => ms >= 1000, { error: 'expected at least 1s' }),
  '--key': z.string().min(1),
  '--alg': HMAC,
  '--claims': z.enum(['0.x', '1.0'], { error: 'expected 0.x or 1.0' }),
  '--subject': z.string().min(1),
  '--payload': z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected JSON' });
      return z.NEVER;
    }
  }),
  '--audience': z.url({ error: 'expected a URL' }),
  '--issuer': z.string().min(1),
} as const;
type Flag = keyof typeof FLAGS;
type Parsed = { [F in Flag]?: z.output<(typeof FLAGS)[F]> };

export async function tokenCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const parsed: Parsed = {};
  const hubArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return 0;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flag === '--dev') {
      hubArgs.push(arg);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (flag === '--config') {
      if (value === undefined) return fail('--config needs a file path.');
      hubArgs.push('--config', value);
      continue;
    }
    if (!(flag in FLAGS)) return fail(`unknown option ${flag}.\n\n${USAGE}`);
    if (value === undefined) return fail(`${flag} needs a value.`);
    const result = FLAGS[flag as Flag].safeParse(value);
    if (!result.success) return fail(`${flag}: ${result.error.issues[0]?.message ?? 'invalid value'}.`);
    (parsed as Record<string, unknown>)[flag] = result.data;
  }
  const publish = parsed['--publish'];
  const subscribe = parsed['--subscribe'];
  if ((publish?.length ?? 0) === 0 && (subscribe?.length ?? 0) === 0)
    return fail(`give --publish or --subscribe (or both).\n\n${USAGE}`);

  let config: ReturnType<typeof loadConfig>['config'];
  try {
    config = loadConfig({ argv: hubArgs, env }).config;
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  // The key: given, else the one the hub verifies this role's tokens with.
  const roleKey = (role: 'publisher' | 'subscriber') =>
    role === 'publisher'
      ? (config.publisherJwtKey ?? config.jwtKey)
      : (config.subscriberJwtKey ?? config.jwtKey);
  const roleAlg = (role: 'publisher' | 'subscriber') =>
    (role === 'publisher' ? config.publisherJwtAlg : config.subscriberJwtAlg) ?? config.jwtAlg;
  const roles = [
    ...(publish?.length ? (['publisher'] as const) : []),
    ...(subscribe?.length ? (['subscriber'] as const) : []),
  ];
  let key = parsed['--key'];
  let alg = parsed['--alg'];
  if (key === undefined) {
    const keys = new Set(roles.map(roleKey));
    if (keys.size > 1)
      return fail(
        'the hub has different publisher and subscriber keys: mint one token per role, or give --key.',
      );
    key = [...keys][0];
    if (key === undefined)
      return fail(
        `no key: give --key SECRET, or set ${envOf('jwtKey')} (or --config FILE) as for 'crier serve'.`,
      );
    const configured = HMAC.safeParse(roleAlg(roles[0]!));
    if (alg === undefined && !configured.success)
      return fail(
        `the configured key is for ${roleAlg(roles[0]!)}; crier token signs with HMAC only: give --key SECRET.`,
      );
    alg ??= configured.data;
    if (key === DEV_JWT_KEY) console.error('crier token: signed with the development key (--dev).');
  }
  const expiresIn = Math.round((parsed['--ttl'] ?? 3_600_000) / 1000);
  let token: string;
  if (parsed['--claims'] === '1.0') {
    const audience =
      parsed['--audience'] ?? config.publicUrl ?? `http://${config.host}:${config.port}/.well-known/mercure`;
    const issuer = parsed['--issuer'] ?? config.issuer[0];
    if (issuer === undefined)
      return fail('1.0 tokens need an issuer the hub accepts: give --issuer (and start the hub with it).');
    const matches = (list: readonly string[] | undefined) =>
      list?.length ? list.map((match) => ({ match })) : undefined;
    token = await mintAccessToken(key, {
      audience,
      issuer,
      subject: parsed['--subject'],
      expiresIn,
      alg,
      publish: matches(publish),
      subscribe: matches(subscribe),
      payload: parsed['--payload'],
    });
  } else {
    token = await mintToken(
      key,
      {
        ...(publish?.length ? { publish } : {}),
        ...(subscribe?.length ? { subscribe } : {}),
      },
      { expiresIn, alg, subject: parsed['--subject'], payload: parsed['--payload'] },
    );
  }
  console.log(token);
  return 0;
}

function fail(message: string): number {
  console.error(`crier token: ${message}`);
  return 2;
}
