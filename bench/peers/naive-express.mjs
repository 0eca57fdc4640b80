// Peer: the seed's Express pattern (bench/peers/naive-express.server.mjs).
import { packageVersion } from './support.mjs';

export default {
  name: 'naive-express',
  label: "seed's Express pattern",
  version: () => `express ${packageVersion('express')}`,
  check: () => (packageVersion('express') ? null : 'express is not installed (npm install)'),
  command: ({ port }) => ({
    cmd: process.execPath,
    args: [new URL('./naive-express.server.mjs', import.meta.url).pathname],
    env: { PORT: String(port) },
  }),
  subscribeUrl: (port) => `http://127.0.0.1:${port}/events?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish?topic=t%I`,
  publishBody: 'data={"t":%T}',
  replay: false,
};
