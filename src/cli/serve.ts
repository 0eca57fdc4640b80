/**
 * `crier serve`: the Crier hub. Options come from flags, CRIER_* environment variables and a JSON file
 * through one schema (src/mercure/config.ts); a bad value exits with status 2 naming the option.
 *
 * With no JWT key configured and no --dev (`npm start` passes --dev: the development key), a random key
 * is generated for this run and a publisher and a subscriber token signed with it are printed, so the hub
 * can be tried with curl at once. Nothing secret is hard-coded; production deployments set --jwt-key (or
 * publisher/subscriber keys, or --jwks-url).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, configHelp, type HubConfig, loadConfig } from '../mercure/config.js';
import { mintPublisherToken, mintSubscriberToken } from '../mercure/publisher.js';
import { MercureServer } from '../mercure/server.js';
import { warmUp } from '../mercure/warm-up.js';
import { printBanner } from './banner.js';
import { closeOnSignal } from './signals.js';
import { isClusterWorker } from './worker-env.js';

export async function serveCommand(argv: string[]): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`crier serve: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (loaded.help) {
    console.log(configHelp());
    return 0;
  }
  // Said once: by the primary of `--workers N`, not again by each worker (they read the same options).
  if (!isClusterWorker())
    for (const warning of loaded.warnings) console.error(`crier serve: warning: ${warning}`);
  const config = loaded.config;
  if (config.workers > 1 || isClusterWorker()) {
    // `--workers N`: this process supervises N workers, or is one of them (src/cli/workers.ts).
    const { serveWorkers } = await import('./workers.js');
    return serveWorkers(config);
  }
  let hub: MercureServer;
  try {
    hub = await MercureServer.create(config);
    // The first connect storm then meets optimised code; after the store answered,
    // so a store that cannot be reached still fails fast (src/mercure/warm-up.ts).
    if (config.warmUp)
      await warmUp(config).catch((error: unknown) =>
        console.error(
          `crier serve: warning: the warm-up failed (${(error as Error).message}); starting cold.`,
        ),
      );
    await hub.listen();
  } catch (error) {
    console.error(`crier serve: could not start: ${(error as Error).message}`);
    return 1;
  }
  await printBanner(hub);
  if (config.dev) {
    console.log(
      'Development mode (--dev): anonymous subscribers, CORS *, and the well-known development JWT key' +
        ' unless one is set. Never run --dev in production.',
    );
  }
  if (config.demo || config.dashboard) {
    // The dashboard alone (`--dashboard` without `--demo`) runs the stats feed and its page, no simulators.
    const started = await startDemoApps(hub, config, config.demo ? undefined : ['dashboard']);
    if (started !== undefined) console.log(started);
  }
  await closeOnSignal(() => hub.close());
  return 0;
}

/** The demo apps' server bundle, built by `npm run build` (scripts/build-apps.mjs) from apps/. */
const DEMO_BUNDLE = new URL('../../dist/apps/server.js', import.meta.url);

interface DemoModule {
  startDemo(
    ctx: {
      hub: MercureServer['hub'];
      hubUrl: string;
      publisherToken: string;
      signSubscriberToken(subscribe: string[], ttlSeconds: number): Promise<string>;
    },
    options?: { apps?: readonly string[] },
  ): { handle(req: IncomingMessage, res: ServerResponse): boolean; close(): Promise<void> };
}

/**
 * Starts the demo apps (sports scores, trading ticker, notifications, dashboard) on this hub. Their
 * backends publish over HTTP with a publisher token, as a real backend would, so they need an HMAC key to
 * mint tokens with. Returns a line to print, or undefined when the apps could not start (said on stderr).
 */
async function startDemoApps(
  hub: MercureServer,
  config: HubConfig,
  apps?: readonly string[],
): Promise<string | undefined> {
  const what = apps === undefined ? '--demo' : '--dashboard';
  const hmac = (alg: string | undefined) => (alg ?? config.jwtAlg).startsWith('HS');
  const publisherKey =
    config.publisherJwtKey !== undefined && hmac(config.publisherJwtAlg)
      ? config.publisherJwtKey
      : config.jwtKey !== undefined && hmac(undefined)
        ? config.jwtKey
        : hub.generatedKey;
  const subscriberKey =
    config.subscriberJwtKey !== undefined && hmac(config.subscriberJwtAlg)
      ? config.subscriberJwtKey
      : config.jwtKey !== undefined && hmac(undefined)
        ? config.jwtKey
        : hub.generatedKey;
  if (publisherKey === undefined || subscriberKey === undefined) {
    console.error(`crier serve: ${what} needs HMAC (HS256/384/512) keys to mint its tokens; not started.`);
    return undefined;
  }
  let module: DemoModule;
  try {
    module = (await import(DEMO_BUNDLE.href)) as DemoModule;
  } catch (error) {
    console.error(
      `crier serve: the demo apps and dashboard are not built (${(error as Error).message}); run npm run build.`,
    );
    return undefined;
  }
  const demo = module.startDemo(
    {
      hub: hub.hub,
      hubUrl: hub.url,
      publisherToken: await mintPublisherToken(publisherKey, ['*']),
      signSubscriberToken: (subscribe, ttlSeconds) =>
        mintSubscriberToken(subscriberKey, subscribe, { expiresIn: ttlSeconds }),
    },
    { apps },
  );
  hub.mount(
    (req, res) => demo.handle(req as IncomingMessage, res as ServerResponse),
    () => demo.close(),
  );
  const adminBase = hub.adminOrigin ?? hub.origin;
  const dashboard = `${adminBase}/dashboard/${config.adminToken !== undefined ? '?token=<admin token>' : ''}`;
  if (apps !== undefined) return `Dashboard: ${dashboard}`;
  return `Demo apps: ${hub.origin}/  (sports ${hub.origin}/sports/, ticker ${hub.origin}/ticker/, notifications ${hub.origin}/notifications/, dashboard ${dashboard})`;
}
