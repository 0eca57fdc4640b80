/**
 * `crier serve`: the Crier hub. Options come from flags, CRIER_* environment variables and a JSON file
 * through one schema (src/hub/config.ts); a bad value exits with status 2 naming the option.
 *
 * With no JWT key configured (`npm start`), a random key is generated for this run and a publisher and a
 * subscriber token signed with it are printed, so the hub can be tried with curl at once. Nothing secret
 * is hard-coded; production deployments set --jwt-key (or publisher/subscriber keys, or --jwks-url).
 */
import { ConfigError, configHelp, loadConfig } from '../hub/config.js';
import { mintPublisherToken, mintSubscriberToken } from '../hub/publisher.js';
import { HubServer } from '../hub/server.js';

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
  const config = loaded.config;
  let hub: HubServer;
  try {
    hub = await HubServer.create(config);
    await hub.listen();
  } catch (error) {
    console.error(`crier serve: could not start: ${(error as Error).message}`);
    return 1;
  }
  console.log(`Crier hub listening on ${hub.origin}  (Mercure hub: ${hub.url})`);
  if (hub.generatedKey !== undefined) {
    const publisher = await mintPublisherToken(hub.generatedKey, ['*'], { expiresIn: 24 * 3600 });
    const subscriber = await mintSubscriberToken(hub.generatedKey, ['*'], { expiresIn: 24 * 3600 });
    console.log(
      [
        '',
        'No JWT key configured: a random demo key was generated for this run (set --jwt-key in production).',
        `Publisher token (24 h):  ${publisher}`,
        `Subscriber token (24 h): ${subscriber}`,
        '',
        `  curl -N -H "Authorization: Bearer <subscriber token>" '${hub.url}?topic=hello'`,
        `  curl -H "Authorization: Bearer <publisher token>" -d topic=hello -d data=world ${hub.url}`,
        '',
      ].join('\n'),
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      hub.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
