// The cluster scenario of `npm run bench`: 3 hub nodes behind nginx over Redis against one node over the
// same Redis at the same load, reached directly and behind the same nginx (so the cost of the proxy hop
// and the cost of more nodes on one log show apart). Every set-up is started with `taskset -c 0` like
// every server, so the cluster's nodes and nginx share the server core: the figures show what the hop
// and the shared log cost, not what more cores buy.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { descendantPids } from '../dist/bench/index.js';
import { KEY, publisherToken } from './peers/crier-hub.mjs';
import { repoRoot } from './peers/support.mjs';

const bin = `${repoRoot}bin/crier.js`;
export const REDIS_URL = process.env.CRIER_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
/** Every key the scenario writes starts with this; it is cleared before and after. */
const PREFIX = '{crier-bench}:';

const mercure = {
  subscribeUrl: (port) => `http://127.0.0.1:${port}/.well-known/mercure?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/.well-known/mercure`,
  publishBody: 'topic=t%I&data={"t":%T}',
};

/** The two set-ups, as peer-like objects for the runner's startServer and fanout. */
export function clusterConfigs({ subscribers }) {
  const nodeArgs = (name) => [
    '--publisher-jwt-key',
    KEY,
    '--anonymous',
    '--redis-prefix',
    `${PREFIX}${name}:`,
    '--log-level',
    'warn',
  ];
  const behindNginx = (nodes, nginxCore) => ({
    name: `${nodes === 1 ? 'one-node-nginx' : `cluster-${nodes}`}${nginxCore === undefined ? '' : '-nginx-core'}`,
    label: `${nodes === 1 ? 'one node' : `${nodes} nodes`} behind nginx over Redis${nginxCore === undefined ? '' : ', nginx on the load core'}`,
    // nginx on a core of its own, as a load balancer in production is: moved to the load generator's core
    // (which it then shares) once it runs; the nodes stay on the server core.
    afterStart: nginxCore === undefined ? undefined : (server) => pinNginx(server.pid, nginxCore),
    command: ({ port }) => ({
      cmd: process.execPath,
      args: [
        bin,
        'cluster',
        '--nodes',
        String(nodes),
        '--port',
        String(port),
        '--store',
        REDIS_URL,
        // Two connections per subscriber through nginx, and room for the publisher's.
        '--nginx-connections',
        String(2 * subscribers + 1024),
        '--',
        ...nodeArgs(`nginx-${nodes}`),
      ],
      env: {},
    }),
    ...mercure,
  });
  return [
    {
      name: 'one-node',
      label: 'one node over Redis',
      command: ({ port }) => ({
        cmd: process.execPath,
        args: [bin, 'serve', '--port', String(port), '--store', REDIS_URL, ...nodeArgs('one')],
        env: {},
      }),
      ...mercure,
    },
    behindNginx(1),
    behindNginx(3),
    behindNginx(3, 1),
    behindLayer4('haproxy', nodeArgs, subscribers),
    behindLayer4('nginx-stream', nodeArgs, subscribers),
  ];
}

/**
 * 3 nodes behind a layer-4 balancer (`crier cluster --proxy haproxy|nginx-stream`): TCP pass-through with
 * the PROXY protocol to the nodes, sized like the nginx set-ups, to weigh against the layer-7 hop.
 */
function behindLayer4(proxy, nodeArgs, subscribers) {
  return {
    name: `cluster-3-${proxy}`,
    label: `3 nodes behind ${proxy === 'haproxy' ? 'HAProxy (mode tcp)' : 'nginx stream'} over Redis`,
    command: ({ port }) => ({
      cmd: process.execPath,
      args: [
        bin,
        'cluster',
        '--proxy',
        proxy,
        '--nodes',
        '3',
        '--port',
        String(port),
        '--store',
        REDIS_URL,
        '--nginx-connections',
        String(2 * subscribers + 1024),
        // Two workers (HAProxy: processes), as many as the machine's cores: under taskset -c 0 the
        // default would be one, whose file limit cannot hold 10,000 subscribers.
        '--nginx-workers',
        '2',
        '--',
        ...nodeArgs(`${proxy}-3`),
      ],
      env: {},
    }),
    ...mercure,
  };
}

/** Moves every nginx process under `pid` (the `crier cluster` process) to CPU `core`. */
function pinNginx(pid, core) {
  for (const process of descendantPids(pid)) {
    try {
      if (readFileSync(`/proc/${process}/comm`, 'latin1').trim() === 'nginx')
        spawnSync('taskset', ['-a', '-cp', String(core), String(process)], { stdio: 'ignore' });
    } catch {}
  }
}

/** Why the scenario cannot run here, or null. */
export async function clusterCheck({ nginxInstalled }) {
  if (!nginxInstalled) return 'nginx is not installed (apt-get install nginx-light)';
  try {
    await clearBenchKeys();
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${error.message}); set CRIER_BENCH_REDIS`;
  }
  return null;
}

export async function publishHeaders() {
  return [`Authorization: Bearer ${await publisherToken()}`];
}

/** Deletes the keys the scenario wrote (history streams and indexes under PREFIX). */
export async function clearBenchKeys() {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
