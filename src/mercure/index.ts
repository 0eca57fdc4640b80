/**
 * The Crier hub (`crier serve`, `crier-sse/mercure`; `crier-sse/hub` is its former, deprecated name): the
 * Mercure protocol (draft-07 and draft-08), the native JSON publish API, operations endpoints, and a
 * publisher SDK for Node backends. See docs/hub.md.
 */
export {
  ConfigError,
  type ConfigSources,
  configHelp,
  type HubConfig,
  loadConfig,
  OPTIONS,
} from './config.js';
export { HubError, type HubErrorCode } from './errors.js';
export {
  type MintOptions,
  mintAccessToken,
  mintPublisherToken,
  mintSubscriberToken,
  mintToken,
  PublishError,
  Publisher,
  type PublisherOptions,
  type PublishInput,
} from './publisher.js';

import { createMercureServer, MercureServer, type MercureServerOptions } from './server.js';

export { createMercureServer, HUB_PATH, MercureServer, type MercureServerOptions } from './server.js';

/** @deprecated Renamed `MercureServer` (`Hub` is the server library's class); this alias will be removed. */
export const HubServer = MercureServer;
/** @deprecated Renamed `MercureServer` (`Hub` is the server library's class); this alias will be removed. */
export type HubServer = MercureServer;
/** @deprecated Renamed `MercureServerOptions`; this alias will be removed. */
export type HubServerOptions = MercureServerOptions;
/** @deprecated Renamed `createMercureServer`; this alias will be removed. */
export const createHubServer = createMercureServer;
