export { type ClusterChannel, channelPair, primaryChannel, workerChannel } from './channel.js';
export {
  ClusterEngine,
  ClusterEngineHost,
  type ClusterEngineOptions,
} from './cluster-engine.js';
