// Peer: Crier as a library (bench/peers/crier-library.server.mjs on the built dist/server).
import { existsSync, readFileSync } from 'node:fs';
import { repoRoot } from './support.mjs';

const entry = `${repoRoot}dist/server/index.js`;

export default {
  name: 'crier-library',
  label: 'Crier (library)',
  version: () => `crier ${JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')).version}`,
  check: async () => {
    if (!existsSync(entry)) return 'dist/server/index.js is not built (the server library is not there yet)';
    const server = await import(entry);
    if (typeof server.Hub !== 'function') return 'dist/server/index.js does not export Hub';
    if (
      typeof server.Hub.prototype.handle !== 'function' ||
      typeof server.Hub.prototype.publish !== 'function'
    ) {
      return 'Hub has no handle(req, res) / publish(topic, data)';
    }
    return null;
  },
  command: ({ port }) => ({
    cmd: process.execPath,
    args: [new URL('./crier-library.server.mjs', import.meta.url).pathname],
    env: { PORT: String(port) },
  }),
  subscribeUrl: (port) => `http://127.0.0.1:${port}/events?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish?topic=t%I`,
  publishBody: 'data={"t":%T}',
  replay: true,
};
