/**
 * The hub's configuration: ONE schema that gives every option its type, default, validation, flag,
 * environment variable and help text. Values come from, in rising precedence: defaults, a JSON config file
 * (`--config` or CRIER_CONFIG), `CRIER_*` environment variables, command-line flags. Every error names the
 * option, where the value came from and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { CrierError } from '../protocol/errors.js';
import { parseProxyEntry } from './client-address.js';

export class ConfigError extends CrierError<'INVALID_CONFIG'> {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
    this.name = 'ConfigError';
  }
}

// ---- value parsers shared by flags, env and file -------------------------------------------------------

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Milliseconds from `1500`, `"1500"`, `"250ms"`, `"15s"`, `"10m"`, `"6h"`, `"7d"`. */
const duration = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const m = DURATION.exec(value.trim());
  return m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!) : value;
}, z.number({ error: 'expected a duration such as 1500, 250ms, 15s, 10m, 6h or 7d' }).int().nonnegative());

/** Bytes from `65536`, `"64KiB"`, `"1MiB"`, `"10MB"`. */
const size = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const m = SIZE.exec(value.trim());
  return m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!) : value;
}, z.number({ error: 'expected a size such as 65536, 64KiB or 10MiB' }).int().nonnegative());

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value),
    z
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int()
      .min(min)
      .max(max),
  );

const boolean = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return value;
  },
  z.boolean({ error: 'expected true or false' }),
);

/** A list from a JSON array or a comma-separated string. */
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : value,
  z.array(z.string()),
);

const text = z.string();

/** Content codings from `on`/`true` (gzip and deflate), `off`/`false` (none), or a list such as `gzip`. */
const codings = z.preprocess(
  (value) => {
    const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
    if (v === true || v === 'on' || v === 'true' || v === 'yes' || v === '1') return ['gzip', 'deflate'];
    if (v === false || v === 'off' || v === 'false' || v === 'no' || v === '0' || v === 'none') return [];
    if (typeof v === 'string')
      return v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    return v;
  },
  z.array(z.enum(['gzip', 'deflate'], { error: 'expected off, on, or a list of gzip and deflate' })),
);

/** The value parsers, for commands that take a few options of their own (`crier token`). */
export const valueSchemas = { duration, size, list, boolean } as const;

/** The most worker processes `--workers` takes. */
export const MAX_WORKERS = 256;
const WORKERS_ERROR = `expected auto or a number of worker processes from 1 to ${MAX_WORKERS}`;

// ---- the options ---------------------------------------------------------------------------------------

interface OptionSpec<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly help: string;
  /** Shown in --help as the value's shape. */
  readonly placeholder: string;
  /** True for options that hold secrets: never logged, never printed back in errors. */
  readonly secret?: boolean;
}

const option = <S extends z.ZodType>(
  schema: S,
  placeholder: string,
  help: string,
  secret = false,
): OptionSpec<S> => ({
  schema,
  placeholder,
  help,
  secret,
});

/**
 * Every option of `crier serve`. The key is the file key (camelCase); the flag is its kebab-case form and
 * the environment variable CRIER_ plus its UPPER_SNAKE form (`maxTopics` → `--max-topics`, CRIER_MAX_TOPICS).
 */
export const OPTIONS = {
  host: option(
    text.default('127.0.0.1'),
    'ADDR',
    'Address to listen on (0.0.0.0 or :: for every interface).',
  ),
  port: option(integer(0, 65_535).default(3000), 'N', 'Port to listen on; 0 picks a free one.'),
  tlsCert: option(
    text.optional(),
    'FILE',
    'PEM certificate chain: serves HTTPS with HTTP/1.1 and h2 (ALPN).',
  ),
  tlsKey: option(text.optional(), 'FILE', 'PEM private key for --tls-cert.'),
  publicUrl: option(
    text.optional(),
    'URL',
    "The hub's public URL (https://hub.example/.well-known/mercure): discovery links and the 1.0 token audience. Default: the listening address.",
  ),
  workers: option(
    z
      .preprocess(
        (value) =>
          typeof value === 'string' && value.trim().toLowerCase() === 'auto'
            ? Math.min(availableParallelism(), MAX_WORKERS)
            : typeof value === 'string' && /^-?\d+$/.test(value.trim())
              ? Number(value)
              : value,
        z
          .number({ error: WORKERS_ERROR })
          .int({ error: WORKERS_ERROR })
          .min(1, { error: WORKERS_ERROR })
          .max(MAX_WORKERS, { error: WORKERS_ERROR }),
      )
      .default(1),
    'N',
    'Worker processes serving connections (node:cluster); auto: one per available core. With --store memory or sqlite:PATH the primary process orders and keeps the updates and sends each to every worker once; with redis:// or nats:// each worker is a node of that cluster.',
  ),
  store: option(
    text.default('memory'),
    'URL',
    'Where history lives: memory, sqlite:./crier.db (durable), redis://host:6379[/db], nats://host:4222.',
  ),
  redisPrefix: option(
    text.min(1, { error: 'expected a non-empty key prefix' }).default('{crier}:'),
    'PREFIX',
    'With --store redis://: prefix of every Redis key; nodes with the same Redis and prefix share one log.',
  ),
  natsStream: option(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected a JetStream stream name (letters, digits, _ and -)' })
      .default('CRIER'),
    'NAME',
    'With --store nats://: the JetStream stream; nodes with the same NATS and stream share one log.',
  ),
  ids: option(
    z.enum(['uuid', 'sequence', 'opaque']).default('uuid'),
    'FORM',
    'IDs generated for updates published without one: uuid (urn:uuid:…, 45 bytes), sequence (#<epoch>-<offset>, ~16 bytes; shows order and count) or opaque (the sequence encrypted with --ids-key, 23 bytes).',
  ),
  idsKey: option(
    text.optional(),
    'SECRET',
    'With --ids opaque: the key IDs are encrypted with (16 characters or more, the same on every node).',
    true,
  ),
  historySize: option(integer(0).default(10_000), 'N', 'Most updates kept in history for replay.'),
  historyBytes: option(size.default(64 * 1024 ** 2), 'SIZE', 'Most bytes of history kept.'),
  historyAge: option(duration.default(24 * 3_600_000), 'DURATION', 'Oldest update kept in history.'),
  jwtKey: option(
    text.optional(),
    'KEY',
    'Key for publisher and subscriber JWTs: a secret, PEM or JWK.',
    true,
  ),
  jwtAlg: option(text.default('HS256'), 'ALG', 'Algorithm of --jwt-key: HS256/384/512, RS256, ES256, EdDSA.'),
  publisherJwtKey: option(text.optional(), 'KEY', 'Key for publisher JWTs (overrides --jwt-key).', true),
  publisherJwtAlg: option(text.optional(), 'ALG', 'Algorithm of --publisher-jwt-key.'),
  subscriberJwtKey: option(text.optional(), 'KEY', 'Key for subscriber JWTs (overrides --jwt-key).', true),
  subscriberJwtAlg: option(text.optional(), 'ALG', 'Algorithm of --subscriber-jwt-key.'),
  jwksUrl: option(
    text.optional(),
    'URL',
    'JWKS to verify tokens with (https://, or file:// for a local file).',
  ),
  publisherJwksUrl: option(
    text.optional(),
    'URL',
    "JWKS for publishers' tokens only (overrides --jwks-url for them).",
  ),
  subscriberJwksUrl: option(
    text.optional(),
    'URL',
    "JWKS for subscribers' tokens only (overrides --jwks-url for them).",
  ),
  issuer: option(list.default([]), 'LIST', 'Accepted token issuers (iss); required for Mercure 1.0 tokens.'),
  audience: option(list.default([]), 'LIST', 'Accepted token audiences (aud).'),
  anonymous: option(
    boolean.default(false),
    'BOOL',
    'Let subscribers without a token receive public updates.',
  ),
  corsOrigins: option(
    list.default([]),
    'LIST',
    "Origins allowed to subscribe from a browser with credentials ('*' for any).",
  ),
  publishOrigins: option(list.default([]), 'LIST', 'Origins allowed to publish with cookie authentication.'),
  trustedProxies: option(
    list.default([]).superRefine((entries, ctx) => {
      for (const entry of entries) {
        const parsed = parseProxyEntry(entry);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      }
    }),
    'LIST',
    'Reverse proxies (addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8) whose X-Forwarded-For names the client, for per-address limits.',
  ),
  proxyProtocol: option(
    boolean.default(false),
    'BOOL',
    'Read a PROXY protocol header (v1 or v2) on each connection from --trusted-proxies, whose client address it names; connections from them without one, and headers from anyone else, are refused.',
  ),
  cookieName: option(
    text.min(1, { error: 'expected a cookie name' }).optional(),
    'NAME',
    'Cookie a Mercure 1.0 access token is read from. Default: __Secure-mercure_access_token over HTTPS, mercure_access_token over HTTP.',
  ),
  protocol: option(
    z.enum(['auto', '07', '08']).default('auto'),
    'VERSION',
    'Mercure protocol: 07 (0.x), 08 (1.0), or auto (per request where unambiguous).',
  ),
  subscriptions: option(
    boolean.default(false),
    'BOOL',
    'Publish subscription events and serve the subscriptions API.',
  ),
  heartbeat: option(
    duration.default(15_000),
    'DURATION',
    'Heartbeat comment after this much idle time; 0 disables.',
  ),
  retry: option(duration.default(3_000), 'DURATION', 'Reconnection time sent to clients (jittered).'),
  compression: option(
    codings.default(['gzip', 'deflate']),
    'CODINGS',
    'Compress event streams for clients that accept it (Accept-Encoding): on (gzip, deflate), off, or the codings in order of preference, e.g. gzip. Each write is compressed once for all its subscribers.',
  ),
  maxLifetime: option(
    duration.default(0),
    'DURATION',
    'Close connections after this long (jittered); 0 for never.',
  ),
  stallTimeout: option(
    duration.default(45_000),
    'DURATION',
    'Close a subscriber whose unsent bytes have not drained for this long (a stuck or half-open peer); 0 disables.',
  ),
  writeBuffer: option(
    size.default(1024 ** 2),
    'SIZE',
    'Unsent bytes allowed per connection before it is dropped as slow.',
  ),
  maxConnections: option(integer(1).default(50_000), 'N', 'Most open subscriber connections (503 beyond).'),
  maxConnectionsPerIp: option(
    integer(1).default(1_000),
    'N',
    'Most open subscriber connections per client address (429 beyond).',
  ),
  headersTimeout: option(
    duration.pipe(z.number().min(100, { error: 'expected at least 100ms' })).default(10_000),
    'DURATION',
    'Close a connection that has not sent its request head after this long.',
  ),
  maxPending: option(
    integer(1).default(1_024),
    'N',
    'Most connections that have not sent their request head yet; beyond, the oldest is closed.',
  ),
  maxPendingPerIp: option(
    // Not small: a burst of connections from one address (a NAT, a reconnect storm after a deploy) is all
    // accepted before any request head is read, so it is briefly this many pending; at 64, 500 clients
    // connecting at once from one address lost a few dozen.
    integer(1).default(512),
    'N',
    'Most such connections per peer address (trusted proxies exempt); beyond, new ones are closed.',
  ),
  fdReserve: option(
    integer(0).default(1_024),
    'N',
    'File descriptors kept for publishes, health, metrics and the store: subscribers get 503 once open sockets reach ulimit -n minus this (at most a quarter of ulimit -n).',
  ),
  fastAccept: option(
    boolean.default(true),
    'BOOL',
    "Read plain subscribe requests (GET on the hub path, HTTP/1.1, no body) with the hub's own request-head parser on the raw socket instead of node:http; anything else goes to node:http. --no-fast-accept sends every request through node:http.",
  ),
  warmUp: option(
    boolean.default(true),
    'BOOL',
    "Before listening, connect 1,500 subscribers to a throwaway hub on a private loopback port, so the first connect storm meets optimised code (about 1 s of start-up; nothing shows in this hub's metrics, API or logs). Single-process hubs only (not --workers).",
  ),
  maxTopics: option(integer(1).default(1_000), 'N', 'Most topic selectors in one request (400 beyond).'),
  maxSelectorCost: option(
    size.pipe(z.number().min(1, { error: 'expected at least 1 byte' })).default(1024 ** 2),
    'SIZE',
    "Most estimated memory of one subscription's compiled topic selectors (400 beyond; see docs/topics.md).",
  ),
  maxSelectorCostPerIp: option(
    size.pipe(z.number().min(1, { error: 'expected at least 1 byte' })).default(2 * 1024 ** 2),
    'SIZE',
    "Most estimated memory of the compiled topic selectors of one client address's open subscriptions (429 beyond).",
  ),
  maxBody: option(size.default(1024 ** 2), 'SIZE', 'Largest publish request body (413 beyond).'),
  publishRate: option(
    integer(0).default(0),
    'N',
    'Publishes per second allowed per token or address; 0 for no limit.',
  ),
  logLevel: option(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'LEVEL',
    'Log level: fatal, error, warn, info, debug, trace or silent.',
  ),
  demo: option(boolean.default(false), 'BOOL', 'Serve the demo apps and run their simulators.'),
  dev: option(
    boolean.default(false),
    'BOOL',
    "Development defaults, like the Mercure hub's dev mode, for options not set otherwise: the well-known JWT key !ChangeThisMercureHubJWTSecretKey!, anonymous subscribers, CORS and publish origins *, subscriptions, the demo apps and a 500,000-update history. Never in production.",
  ),
  dashboard: option(
    boolean.default(false),
    'BOOL',
    'Serve the live hub dashboard at /dashboard/: on --admin-addr, or on the public port behind --admin-token (the demo serves it open).',
  ),
  // ---- the operator's surface: admin listener, start-up bound ----
  adminAddr: option(
    z
      .string()
      .regex(/^(?:(?:\[[0-9a-fA-F:.]+\]|[^\s:/]+):)?\d{1,5}$/, { error: 'expected PORT or HOST:PORT' })
      .optional(),
    'HOST:PORT',
    'A second listener (127.0.0.1 when only a port is given) for /metrics, /healthz, /readyz and the dashboard; the public port then serves neither /metrics nor the dashboard.',
  ),
  adminToken: option(
    text.min(16, { error: 'expected at least 16 characters' }).optional(),
    'TOKEN',
    'Bearer token required for /metrics and the dashboard (a browser may open /dashboard/?token=TOKEN once: it sets a cookie).',
    true,
  ),
  startTimeout: option(
    duration.default(10_000),
    'DURATION',
    'How long the store may take to answer at start; past it the hub exits with status 1 and the reason.',
  ),
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type HubConfig = { [K in OptionName]: z.output<(typeof OPTIONS)[K]['schema']> };

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const flagOf = (name: OptionName) => `--${kebab(name)}`;
export const envOf = (name: OptionName) => `CRIER_${kebab(name).replace(/-/g, '_').toUpperCase()}`;

const NAMES = Object.keys(OPTIONS) as OptionName[];

/**
 * The environment variables of the official Mercure image (its Caddyfile), read too so a Mercure deployment
 * switches by changing the command, not the setup. CRIER_* variables win over them.
 */
export const MERCURE_ENV_ALIASES: Readonly<Record<string, OptionName>> = {
  MERCURE_PUBLISHER_JWT_KEY: 'publisherJwtKey',
  MERCURE_PUBLISHER_JWT_ALG: 'publisherJwtAlg',
  MERCURE_SUBSCRIBER_JWT_KEY: 'subscriberJwtKey',
  MERCURE_SUBSCRIBER_JWT_ALG: 'subscriberJwtAlg',
  MERCURE_TRUSTED_ISSUERS: 'issuer',
};

/**
 * Mercure directives (as `MERCURE_EXTRA_DIRECTIVES` carries them, one per line) that have a Crier meaning:
 * the option each sets and how its arguments become the option's value (then validated by its schema).
 */
const MERCURE_DIRECTIVES: Readonly<
  Record<string, ReadonlyArray<[OptionName, (args: readonly string[]) => unknown]>>
> = {
  anonymous: [['anonymous', () => true]],
  subscriptions: [['subscriptions', () => true]],
  cors_origins: [['corsOrigins', (a) => [...a]]],
  publish_origins: [['publishOrigins', (a) => [...a]]],
  cookie_name: [['cookieName', (a) => a[0]]],
  heartbeat: [['heartbeat', (a) => goDuration(a[0])]],
  write_timeout: [['maxLifetime', (a) => goDuration(a[0])]],
  dispatch_timeout: [['stallTimeout', (a) => goDuration(a[0])]],
  max_request_body_size: [['maxBody', (a) => a[0]]],
  resource_identifier: [['publicUrl', (a) => a[0]]],
  protocol_version_compatibility: [['protocol', () => 'auto']],
  publisher_jwt: [
    ['publisherJwtKey', (a) => a[0]],
    ['publisherJwtAlg', (a) => a[1]],
  ],
  subscriber_jwt: [
    ['subscriberJwtKey', (a) => a[0]],
    ['subscriberJwtAlg', (a) => a[1]],
  ],
  publisher_jwks_url: [['publisherJwksUrl', (a) => a[0]]],
  subscriber_jwks_url: [['subscriberJwksUrl', (a) => a[0]]],
};

/** Mercure image variables with no Crier meaning: named in a warning, with what to do instead. */
const MERCURE_ENV_IGNORED: Readonly<Record<string, string>> = {
  SERVER_NAME:
    'set --host, --port and --public-url; Crier does not obtain certificates (use --tls-cert/--tls-key or a proxy)',
  GLOBAL_OPTIONS: 'Caddy global options have no Crier equivalent',
  CADDY_EXTRA_CONFIG: 'Caddy snippets have no Crier equivalent',
  CADDY_SERVER_EXTRA_DIRECTIVES:
    'Caddy site directives have no Crier equivalent; put a proxy in front for them',
  MERCURE_LICENSE: 'Crier needs no license key',
  MERCURE_TRANSPORT_URL: 'use --store (memory, sqlite:PATH, redis://, nats://)',
};

/** A Go duration (`40s`, `1m30s`, `500ms`, `0s`, `0`) in milliseconds; the text itself when it is not one. */
function goDuration(text: string | undefined): unknown {
  if (text === undefined) return text;
  if (text === '0') return 0;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? Math.round(total) : text;
}

/** Splits a Caddyfile line into words (double quotes and backquotes group words). */
function caddyWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  }
  return words;
}

/** The JWT key of the Mercure hub's development configuration; `--dev` uses it when no key is given. */
export const DEV_JWT_KEY = '!ChangeThisMercureHubJWTSecretKey!';

/** What `--dev` sets, for each option the user did not set. */
const DEV_DEFAULTS: Partial<Record<OptionName, unknown>> = {
  jwtKey: DEV_JWT_KEY,
  // The demo ticker alone publishes ~2,400 updates/s: keep minutes of it (still bounded by --history-bytes),
  // so a page that was away for a while catches up by replay.
  historySize: 500_000,
  anonymous: true,
  corsOrigins: ['*'],
  publishOrigins: ['*'],
  subscriptions: true,
  demo: true,
};
const BY_FLAG = new Map(NAMES.map((n) => [flagOf(n), n]));

// ---- loading -----------------------------------------------------------------------------------------

export interface ConfigSources {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** A config file's parsed JSON; when absent, `--config`/CRIER_CONFIG names a file to read. */
  file?: Readonly<Record<string, unknown>>;
}

type Origin = 'default' | 'file' | 'env' | 'flag';

/**
 * Builds the configuration from flags, environment and file. Throws a {@link ConfigError} naming the option,
 * the source and the problem. Returns `help: true` when `--help` was given.
 */
export function loadConfig(sources: ConfigSources = {}): {
  config: HubConfig;
  help: boolean;
  /** Things to tell the user that do not stop the hub: misspelt CRIER_* variables, Mercure settings with no Crier meaning. */
  warnings: string[];
} {
  const argv = sources.argv ?? [];
  const env = sources.env ?? {};
  const raw = new Map<OptionName, { value: unknown; origin: Origin; label: string }>();
  const warnings: string[] = [];
  let help = false;
  let configPath = env.CRIER_CONFIG;

  const fromFlags: [OptionName, string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`Unexpected argument '${arg}'. Options start with --.`);
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (flag === '--config') {
      configPath = value ?? argv[++i];
      if (configPath === undefined) throw new ConfigError('--config needs a file path.');
      continue;
    }
    const negated = flag.startsWith('--no-') ? BY_FLAG.get(`--${flag.slice(5)}`) : undefined;
    const name = BY_FLAG.get(flag) ?? negated;
    if (name === undefined)
      throw new ConfigError(`Unknown option ${flag}. Run 'crier serve --help' for the list.`);
    const isBoolean = OPTIONS[name].placeholder === 'BOOL';
    if (negated !== undefined) {
      if (!isBoolean)
        throw new ConfigError(`Unknown option ${flag}: only true/false options have a --no- form.`);
      value = 'false';
    } else if (value === undefined) {
      const next = argv[i + 1];
      if (isBoolean && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined)
        throw new ConfigError(`${flag} needs a value (${OPTIONS[name].placeholder}).`);
      else value = argv[++i]!;
    }
    fromFlags.push([name, flag, value]);
  }

  let file = sources.file;
  if (file === undefined && configPath !== undefined) file = readConfigFile(configPath);
  for (const [key, value] of Object.entries(file ?? {})) {
    if (!(key in OPTIONS)) {
      throw new ConfigError(
        `Unknown option '${key}' in the config file. Known options: ${NAMES.join(', ')}.`,
      );
    }
    raw.set(key as OptionName, { value, origin: 'file', label: `'${key}' in the config file` });
  }
  readMercureEnvironment(env, raw, warnings);
  for (const name of NAMES) {
    const value = env[envOf(name)];
    if (value !== undefined && value !== '') raw.set(name, { value, origin: 'env', label: envOf(name) });
  }
  for (const [name, flag, value] of fromFlags) raw.set(name, { value, origin: 'flag', label: flag });

  const devParse = OPTIONS.dev.schema.safeParse(raw.get('dev')?.value);
  if (devParse.success && devParse.data) {
    const keyGiven = [
      'jwtKey',
      'publisherJwtKey',
      'subscriberJwtKey',
      'jwksUrl',
      'publisherJwksUrl',
      'subscriberJwksUrl',
    ].some((n) => raw.has(n as OptionName));
    for (const [name, value] of Object.entries(DEV_DEFAULTS) as [OptionName, unknown][]) {
      if (raw.has(name) || (name === 'jwtKey' && keyGiven)) continue;
      raw.set(name, { value, origin: 'default', label: `${flagOf(name)} (set by --dev)` });
    }
  }

  const config = {} as Record<OptionName, unknown>;
  for (const name of NAMES) {
    const spec = OPTIONS[name];
    const given = raw.get(name);
    const result = spec.schema.safeParse(given?.value);
    if (!result.success) {
      const label = given?.label ?? flagOf(name);
      const shown =
        given === undefined ? '' : spec.secret ? ' (value hidden)' : `, got ${JSON.stringify(given.value)}`;
      throw new ConfigError(`${label}: ${result.error.issues[0]?.message ?? 'invalid value'}${shown}.`);
    }
    config[name] = result.data;
  }
  const hub = config as HubConfig;
  checkTogether(hub);
  if (hub.protocol === '08' && hub.issuer.length === 0) {
    warnings.push(
      'no --issuer (or MERCURE_TRUSTED_ISSUERS): Mercure 1.0 tokens are accepted from any issuer signed with the configured keys; draft-08 §6.3 asks for a trusted iss.',
    );
  }
  return { config: hub, help, warnings: [...warnings, ...unknownEnv(env)] };
}

/**
 * The official Mercure image's settings: its variables (MERCURE_ENV_ALIASES) and the directives of
 * MERCURE_EXTRA_DIRECTIVES that have a Crier meaning; every other one is named in `warnings`.
 */
function readMercureEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  raw: Map<OptionName, { value: unknown; origin: Origin; label: string }>,
  warnings: string[],
): void {
  for (const [alias, name] of Object.entries(MERCURE_ENV_ALIASES)) {
    const value = env[alias];
    if (value !== undefined && value !== '') raw.set(name, { value, origin: 'env', label: alias });
  }
  for (const [variable, advice] of Object.entries(MERCURE_ENV_IGNORED)) {
    if (env[variable] !== undefined && env[variable] !== '') {
      warnings.push(`${variable} is not used by Crier: ${advice}.`);
    }
  }
  const directives = env.MERCURE_EXTRA_DIRECTIVES;
  if (directives === undefined) return;
  let depth = 0;
  for (const line of directives.split(/\r?\n/)) {
    // Caddy placeholders for the environment, {env.NAME} and {$NAME}, as Caddy expands them.
    const expanded = line.replace(
      /\{(?:env\.|\$)([A-Za-z_][A-Za-z0-9_]*)\}/g,
      (_, v: string) => env[v] ?? '',
    );
    const words = caddyWords(expanded.replace(/(^|\s)#.*$/, ''));
    if (words.length === 0) continue;
    const [name, ...args] = words as [string, ...string[]];
    const opens = words.filter((w) => w === '{').length - words.filter((w) => w === '}').length;
    if (depth > 0 || opens !== 0) {
      if (depth === 0) {
        warnings.push(
          `MERCURE_EXTRA_DIRECTIVES: the "${name}" block is not read by Crier; use the flags of docs/migrate-from-mercure.md.`,
        );
      }
      depth += opens;
      continue;
    }
    const targets = MERCURE_DIRECTIVES[name];
    if (targets === undefined) {
      warnings.push(`MERCURE_EXTRA_DIRECTIVES: "${name}" has no Crier equivalent and is ignored.`);
      continue;
    }
    for (const [option, value] of targets) {
      const v = value(args);
      if (v !== undefined)
        raw.set(option, { value: v, origin: 'env', label: `MERCURE_EXTRA_DIRECTIVES ${name}` });
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config: cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--config: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config: ${path} must hold a JSON object of options.`);
  }
  return parsed as Record<string, unknown>;
}

/** CRIER_* variables read elsewhere than the options: the config file, the demo, the tests and the bench. */
const OTHER_ENV = new Set(['CRIER_CONFIG', 'CRIER_WORKER_OF', 'CRIER_DEMO_TICKER_RATE', 'CRIER_CHROMIUM']);
const OTHER_ENV_PREFIXES = ['CRIER_BENCH_', 'CRIER_TEST_'];

/** A warning for each CRIER_* variable no option reads, with the nearest known name when one is close. */
function unknownEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = [...NAMES.map(envOf), ...OTHER_ENV];
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('CRIER_') || known.includes(name)) continue;
    if (OTHER_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    let best: string | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const candidate of known) {
      const d = editDistance(name, candidate);
      if (d < bestDistance) [best, bestDistance] = [candidate, d];
    }
    const close = best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4));
    warnings.push(
      `${name} is not a Crier setting and is ignored${close ? `; did you mean ${best}?` : '.'} Run 'crier serve --help' for the list.`,
    );
  }
  return warnings;
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Rules that involve more than one option. */
function checkTogether(config: HubConfig): void {
  if (config.dashboard && config.adminAddr === undefined && config.adminToken === undefined && !config.demo) {
    throw new ConfigError(
      "--dashboard shows the hub's figures to whoever opens it: serve it on a private listener (--admin-addr 127.0.0.1:9090) or behind a token (--admin-token).",
    );
  }
  if (config.workers > 1 && (config.demo || config.dashboard)) {
    throw new ConfigError(
      `--workers ${config.workers}: the demo apps and the dashboard keep their state in one process; run them with --workers 1 (with --dev, add --demo false --dashboard false to use more workers).`,
    );
  }
  if (config.ids === 'opaque' && (config.idsKey === undefined || config.idsKey.length < 16)) {
    throw new ConfigError(
      '--ids opaque needs --ids-key (or CRIER_IDS_KEY): a secret of at least 16 characters, the same on every node.',
    );
  }
  if (config.proxyProtocol && config.trustedProxies.length === 0) {
    throw new ConfigError(
      '--proxy-protocol believes the PROXY header only from --trusted-proxies: name the load balancer (e.g. --trusted-proxies 10.0.0.5).',
    );
  }
  if (config.proxyProtocol && config.tlsCert !== undefined) {
    throw new ConfigError(
      '--proxy-protocol is for plain HTTP behind a layer-4 balancer; terminate TLS on the balancer, or drop --tls-cert.',
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both or neither.');
  }
  if (!/^(memory|sqlite:.+|redis(s)?:\/\/.+|nats:\/\/.+)$/.test(config.store)) {
    throw new ConfigError(
      `--store: expected memory, sqlite:PATH, redis://HOST:PORT or nats://HOST:PORT, got ${JSON.stringify(config.store)}.`,
    );
  }
}

/** The text of `crier serve --help`, generated from the schema. */
export function configHelp(): string {
  const lines = [
    'Usage: crier serve [options]',
    '',
    'Every option can also be set as a CRIER_* environment variable or in a JSON file given with',
    '--config FILE (keys in camelCase). Flags win over the environment, which wins over the file.',
    'Durations take ms, s, m, h, d (15s); sizes take KiB, MiB, GiB (64KiB).',
    '',
    'Options:',
  ];
  const width = Math.max(...NAMES.map((n) => `${flagOf(n)} ${OPTIONS[n].placeholder}`.length)) + 2;
  for (const name of NAMES) {
    const spec = OPTIONS[name];
    const def = defaultOf(name);
    const left = `${flagOf(name)} ${spec.placeholder}`.padEnd(width);
    const shownDefault =
      def === undefined || (Array.isArray(def) && def.length === 0)
        ? ''
        : ` [default: ${formatValue(def, spec.placeholder)}]`;
    lines.push(`  ${left}${spec.help}${shownDefault}`);
    lines.push(`  ${''.padEnd(width)}env ${envOf(name)}`);
  }
  lines.push(
    `  ${'--config FILE'.padEnd(width)}Read options from a JSON file.`,
    `  ${'--help'.padEnd(width)}Show this help.`,
  );
  return lines.join('\n');
}

export function defaultOf(name: OptionName): unknown {
  const result = OPTIONS[name].schema.safeParse(undefined);
  return result.success ? result.data : undefined;
}

function formatValue(value: unknown, placeholder?: string): string {
  if (typeof value === 'number' && placeholder === 'DURATION') return formatDuration(value);
  if (typeof value === 'number' && placeholder === 'SIZE') return formatSize(value);
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** `15000` → `15s`, `86400000` → `1d`, `1500` → `1500ms`: the largest unit that states it exactly. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? '0' : `${ms}ms`;
}

/** `65536` → `64KiB`, `67108864` → `64MiB`, `1000` → `1000B`: the largest binary unit that states it exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB'] as const) {
    const size = SIZE_UNITS[unit.toLowerCase()]!;
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** The configuration with secrets replaced, safe to log. */
export function redactConfig(config: HubConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of NAMES) {
    const value = config[name];
    out[name] = OPTIONS[name].secret && value !== undefined ? '[redacted]' : value;
  }
  return out;
}
