// Peer: better-sse with a channel per topic (bench/peers/better-sse.server.mjs).
import { packageVersion } from './support.mjs';

export default {
  name: 'better-sse',
  label: 'better-sse',
  version: () => `better-sse ${packageVersion('better-sse')}`,
  check: () => (packageVersion('better-sse') ? null : 'better-sse is not installed (npm install)'),
  command: ({ port }) => ({
    cmd: process.execPath,
    args: [new URL('./better-sse.server.mjs', import.meta.url).pathname],
    env: { PORT: String(port) },
  }),
  subscribeUrl: (port) => `http://127.0.0.1:${port}/events?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish?topic=t%I`,
  publishBody: 'data={"t":%T}',
  replay: false,
};
