/**
 * The Crier hub (`crier serve`, `crier-sse/hub`): the Mercure protocol (draft-07 and draft-08), the native JSON
 * publish API, operations endpoints, and a publisher SDK for Node backends. See docs/hub.md.
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
export { createHubServer, HUB_PATH, HubServer, type HubServerOptions } from './server.js';
