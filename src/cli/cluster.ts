/**
 * `crier cluster`: N hub nodes on one machine behind a load balancer, over one Redis (or NATS), to try the
 * cluster on a laptop. Nodes are `crier serve` processes on free ports; the balancer runs as the current
 * user with a configuration generated in a temporary directory (pid, error log and temp paths there) from
 * the shipped one: nginx at layer 7 (deploy/nginx/crier.conf, the default), or at layer 4 with the PROXY
 * protocol to the nodes, HAProxy (deploy/haproxy/crier.cfg) or nginx `stream` (deploy/nginx/crier-stream.conf).
 * Ctrl-C stops everything. The failover tests (test/cluster) drive the same `LocalCluster`.
 *
 * Not for production: there, run each node on its own host and install the files in deploy/.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

export { freePort };

/** deploy/nginx/crier.conf, from src/cli or dist/cli alike. */
export const NGINX_TEMPLATE = fileURLToPath(new URL('../../deploy/nginx/crier.conf', import.meta.url));
export const DEFAULT_NGINX = '/usr/sbin/nginx';
/** deploy/haproxy/crier.cfg and deploy/nginx/crier-stream.conf, the layer-4 balancers' configurations. */
export const HAPROXY_TEMPLATE = fileURLToPath(new URL('../../deploy/haproxy/crier.cfg', import.meta.url));
export const NGINX_STREAM_TEMPLATE = fileURLToPath(
  new URL('../../deploy/nginx/crier-stream.conf', import.meta.url),
);
export const DEFAULT_HAPROXY = '/usr/sbin/haproxy';
/** Where Debian's libnginx-mod-stream puts nginx's stream module. */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** The balancers `crier cluster --proxy` runs: nginx at layer 7, or HAProxy or nginx stream at layer 4. */
export const PROXY_KINDS = ['nginx', 'haproxy', 'nginx-stream'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];

/**
 * The address a layer-4 balancer connects to the nodes from (any 127.0.0.0/8 address is the loopback on
 * Linux): the nodes trust the PROXY header from it alone, so a client on 127.0.0.1 that connects to a
 * node directly is an untrusted peer, as it would be on a network.
 */
export const L4_SOURCE = '127.0.0.2';

/** Whether an nginx binary is there and runs. */
export function nginxInstalled(binary = DEFAULT_NGINX): boolean {
  return spawnSync(binary, ['-v']).status === 0;
}

/** Whether a HAProxy binary is there and runs. */
export function haproxyInstalled(binary = DEFAULT_HAPROXY): boolean {
  return spawnSync(binary, ['-v']).status === 0;
}

/**
 * How the nginx at `binary` gets its stream module: `builtin`, the path of the dynamic module to load,
 * or undefined when it has none.
 */
export function nginxStreamModule(binary = DEFAULT_NGINX, module = NGINX_STREAM_MODULE): string | undefined {
  const built = spawnSync(binary, ['-V'], { encoding: 'utf8' });
  const flags = `${built.stdout ?? ''} ${built.stderr ?? ''}`;
  if (/--with-stream(\s|$)/.test(flags)) return 'builtin';
  return existsSync(module) ? module : undefined;
}

/**
 * deploy/nginx/crier.conf with its upstream `server` lines replaced by `nodes` and its `listen` line by
 * `listen` — everything else (timeouts, buffering, retries, headers) as shipped.
 */
export function renderCrierConf(template: string, nodes: string[], listen: string): string {
  if (nodes.length === 0) throw new Error('renderCrierConf: at least one node is needed.');
  const upstream = /(upstream crier_hub \{[^}]*?)((?:\n[ \t]*server [^\n]*;)+)/;
  const match = upstream.exec(template);
  if (match === null)
    throw new Error('renderCrierConf: the template has no `upstream crier_hub` with server lines.');
  const indent = /\n([ \t]*)server/.exec(match[2]!)![1]!;
  const options = / (max_fails=[^;]*);/.exec(match[2]!)?.[1];
  const servers = nodes
    .map((n) => `\n${indent}server ${n}${options === undefined ? '' : ` ${options}`};`)
    .join('');
  const out = template.replace(upstream, `$1${servers}`);
  if (!/\n([ \t]*)listen [^;]+;/.test(out))
    throw new Error('renderCrierConf: the template has no listen line.');
  return out.replace(/\n([ \t]*)listen [^;]+;/, `\n$1listen ${listen};`);
}

/** The hard limit on open files of this process, which nginx's workers inherit; Infinity when unlimited. */
export function openFilesHardLimit(limits = '/proc/self/limits'): number {
  try {
    const line = readFileSync(limits, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === undefined || hard === 'unlimited') return Number.POSITIVE_INFINITY;
    const n = Number(hard);
    return Number.isFinite(n) && n > 0 ? n : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Files each nginx worker keeps for itself (logs, temp files, listening sockets) beside its connections. */
export const NGINX_RESERVED_FILES = 1024;

/** How nginx is sized: per worker, since worker_connections and worker_rlimit_nofile are per process. */
export interface NginxSizing {
  workers: number;
  /** `worker_connections`: each subscriber through nginx holds two (client side and node side). */
  workerConnections: number;
  /** `worker_rlimit_nofile`: the connections plus NGINX_RESERVED_FILES. */
  rlimitNofile: number;
  /** Subscribers the whole nginx holds: workers × worker_connections / 2, less the headroom. */
  subscribers: number;
}

/** Thrown when the connections asked for do not fit under the open-files hard limit (nginx or HAProxy). */
export class NginxSizingError extends Error {}

/**
 * Sizes nginx for `connections` in all (about twice the subscribers), spread over `workers` processes by
 * `reuseport` (the kernel hashes each connection to a worker: close to even, so 10 % + 64 of headroom per
 * worker). With no `connections`, each worker gets as many as the hard limit allows. Throws
 * NginxSizingError, with the numbers and the fix, when the hard limit cannot hold what was asked.
 */
export function sizeNginx(options: {
  workers: number;
  connections?: number;
  hardLimit?: number;
}): NginxSizing {
  const { workers } = options;
  const hardLimit = options.hardLimit ?? openFilesHardLimit();
  const perWorker = (connections: number) => Math.ceil((connections / workers) * 1.1) + 64;
  const workerConnections =
    options.connections === undefined
      ? Math.min(65_536, Math.max(256, hardLimit - NGINX_RESERVED_FILES))
      : perWorker(options.connections);
  const rlimitNofile = workerConnections + NGINX_RESERVED_FILES;
  if (rlimitNofile > hardLimit) {
    const asked = options.connections ?? 0;
    const fit = Math.max(0, Math.floor(((hardLimit - NGINX_RESERVED_FILES - 64) / 1.1) * workers));
    throw new NginxSizingError(
      `nginx needs ${rlimitNofile} open files per worker for ${asked} connections over ${workers} ` +
        `worker(s) (${workerConnections} worker_connections + ${NGINX_RESERVED_FILES} of its own), above the ` +
        `open-files hard limit of ${hardLimit}; ${fit} connections (${Math.floor(fit / 2)} subscribers) fit. ` +
        `Raise the hard limit (as root: ulimit -Hn ${rlimitNofile}; systemd: LimitNOFILE=${rlimitNofile}), ` +
        'run more --nginx-workers, or ask for fewer --nginx-connections.',
    );
  }
  const subscribers = Math.floor((((workerConnections - 64) / 1.1) * workers) / 2);
  return { workers, workerConnections, rlimitNofile, subscribers };
}

/**
 * deploy/haproxy/crier.cfg for local nodes: one single-threaded process's `maxconn` and `ulimit-n` from the
 * sizing (per nginx worker: `crier cluster` runs one HAProxy process per worker on the same port), the
 * `bind` line, and one `server` line per node, connecting from `source` (the address the nodes trust).
 */
export function renderHaproxyConf(options: {
  nodes: string[];
  listen: string;
  sizing: NginxSizing;
  source: string;
  template?: string;
}): string {
  const template = options.template ?? readFileSync(HAPROXY_TEMPLATE, 'utf8');
  if (options.nodes.length === 0) throw new Error('renderHaproxyConf: at least one node is needed.');
  const servers = /((?:\n[ \t]*server [^\n]*)+)/.exec(template);
  if (servers === null) throw new Error('renderHaproxyConf: the template has no server lines.');
  if (!/\n[ \t]*bind [^\n]+/.test(template) || !/\n[ \t]*maxconn \d+/.test(template))
    throw new Error('renderHaproxyConf: the template has no bind or no global maxconn line.');
  const indent = /\n([ \t]*)server/.exec(servers[1]!)![1]!;
  const lines = options.nodes
    .map((n, i) => `\n${indent}server node${i + 1} ${n} source ${options.source}`)
    .join('');
  return `# Generated by crier cluster from deploy/haproxy/crier.cfg.\n${template
    .replace(servers[1]!, lines)
    .replace(/\n([ \t]*)bind [^\n]+/, `\n$1bind ${options.listen}`)
    .replace(
      /\n([ \t]*)maxconn \d+/,
      // Per process: each connection is two files (client and node), like an nginx worker's.
      `\n$1maxconn ${Math.floor(options.sizing.workerConnections / 2)}\n$1nbthread 1\n$1ulimit-n ${options.sizing.rlimitNofile}`,
    )}`;
}

/** The main context of a generated nginx.conf: process, files and connections, sized per worker. */
function nginxMain(
  template: string,
  dir: string,
  sizing: Pick<NginxSizing, 'workers' | 'workerConnections' | 'rlimitNofile'>,
  modules: string,
): string {
  return `# Generated by crier cluster from deploy/nginx/${template} (sizing as in deploy/nginx/nginx.conf).
${modules}daemon off;
worker_processes ${sizing.workers};
# Each worker's connections, and the files nginx opens itself.
worker_rlimit_nofile ${sizing.rlimitNofile};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;

events {
    # Each client through nginx holds two connections (client and node).
    worker_connections ${sizing.workerConnections};
}
`;
}

/**
 * A whole nginx.conf with deploy/nginx/crier-stream.conf as its stream context, for an unprivileged nginx
 * whose files live under `dir`; the balancer connects to the nodes from `source`.
 */
export function renderNginxStreamConf(options: {
  dir: string;
  nodes: string[];
  listen: string;
  sizing: NginxSizing;
  source: string;
  /** `builtin`, or the dynamic module's path (nginxStreamModule). */
  module: string;
  template?: string;
}): string {
  const { dir, sizing } = options;
  const listen = sizing.workers > 1 ? `${options.listen} reuseport` : options.listen;
  const stream = renderCrierConf(
    options.template ?? readFileSync(NGINX_STREAM_TEMPLATE, 'utf8'),
    options.nodes,
    listen,
  ).replace(/\n([ \t]*)listen ([^;]+);/, `\n$1listen $2;\n$1proxy_bind ${options.source};`);
  return `${nginxMain('crier-stream.conf', dir, sizing, options.module === 'builtin' ? '' : `load_module ${options.module};\n`)}
stream {
${stream.replace(/^/gm, '    ').replace(/^ +$/gm, '')}
}
`;
}

/** A whole nginx.conf for an unprivileged nginx whose files all live under `dir`. */
export function renderNginxConf(options: {
  dir: string;
  nodes: string[];
  listen: string;
  template?: string;
  /** Workers, connections and files per worker (sizeNginx). Default: one worker of 8,192 connections. */
  sizing?: NginxSizing;
}): string {
  const { dir } = options;
  const sizing = options.sizing ?? {
    workers: 1,
    workerConnections: 8192,
    rlimitNofile: 8192 + NGINX_RESERVED_FILES,
  };
  // Several workers: `reuseport` gives each its own listening socket and the kernel spreads connections
  // evenly (without it, the worker that wakes first takes most of a connect storm).
  const listen = sizing.workers > 1 ? `${options.listen} reuseport` : options.listen;
  const crier = renderCrierConf(
    options.template ?? readFileSync(NGINX_TEMPLATE, 'utf8'),
    options.nodes,
    listen,
  );
  return `${nginxMain('crier.conf', dir, sizing, '')}
http {
    access_log off;
    client_body_temp_path ${join(dir, 'client_body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};

${crier.replace(/^/gm, '    ').replace(/^ +$/gm, '')}
}
`;
}

/**
 * nginx error-log lines an operator must see: it cannot hold, accept or forward connections. (Out of
 * connections with idle ones to reuse, nginx only warns, "worker_connections are not enough, reusing
 * connections": shown too, it is the first sign.)
 */
const NGINX_ALERT = /\[(alert|emerg|crit)\]|worker_connections are not enough/;

/**
 * Follows a growing log file from its current end (polling: the file may not exist yet), and calls
 * `onLine` for every complete line that matches `filter`.
 */
export class LogFollower {
  private offset = 0;
  private partial = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly filter: RegExp = NGINX_ALERT,
    intervalMs = 200,
  ) {
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  /** Reads what was appended since the last poll. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.allocUnsafe(65_536);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        const lines = (this.partial + buffer.toString('utf8', 0, n)).split('\n');
        this.partial = lines.pop()!;
        for (const line of lines) if (this.filter.test(line)) this.onLine(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}

/** Rejects unless something accepts TCP connections at `host:port` within `timeoutMs`. */
export function reachable(host: string, port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/** Rejects when `port` on `host` cannot be listened on (in use, or not allowed). */
export function portFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** The first host:port of a store URL (`redis://…`, `nats://a:4222,b:4222`). */
export function storeAddress(store: string): { host: string; port: number } {
  const url = new URL(store.split(',')[0]!);
  const port = Number(url.port) || (url.protocol.startsWith('nats') ? 4222 : 6379);
  return { host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port };
}

/** How to run `crier` from here: the TypeScript source through tsx, or the built dist. */
function crierCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return ['--import', 'tsx', here.replace(/cluster\.ts$/, 'crier.ts')];
  return [here.replace(/cluster\.js$/, 'crier.js')];
}

/** Kills a child's whole process group (children are started detached, as group leaders). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One `crier serve` process on a fixed port, which can be killed and started again on that port. */
export class ClusterNode {
  private child: ChildProcess | undefined;
  /** What the node wrote to stderr lately (for error messages). */
  stderr = '';

  constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The node's process id, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the node; resolves when its /readyz answers 200 (its store is reachable). */
  async start(timeoutMs = 20_000): Promise<void> {
    const child = spawn(
      process.execPath,
      [...crierCommand(), 'serve', '--host', '127.0.0.1', '--port', String(this.port), ...this.args],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`node on port ${this.port} exited: ${this.stderr.trim()}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {}
      if (Date.now() > deadline) throw new Error(`node on port ${this.port} not ready in ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Sends `signal` (SIGKILL: no shutdown at all; SIGTERM: graceful) and resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const gone = exited(child);
    killGroup(child, signal);
    await gone;
  }
}

export interface LocalClusterOptions {
  /** Number of hub nodes. Default 3. */
  nodes?: number;
  /** `--store` of every node: `redis://…` or `nats://…`. */
  store: string;
  /** Further `crier serve` flags for every node (keys, --anonymous, --log-level…). */
  nodeArgs?: string[];
  /** The balancer: nginx (layer 7, default), haproxy or nginx-stream (layer 4, PROXY protocol to the nodes). */
  proxy?: ProxyKind;
  /** The balancer's port; 0 picks a free one. Default 0. */
  port?: number;
  /** Ports of the nodes; default free ones. */
  nodePorts?: number[];
  /** The nginx binary. Default /usr/sbin/nginx. */
  nginx?: string;
  /** The HAProxy binary (--proxy haproxy). Default /usr/sbin/haproxy. */
  haproxy?: string;
  /** nginx worker processes. Default: one per core (os.availableParallelism()). */
  nginxWorkers?: number;
  /**
   * Connections nginx must hold in all, about twice the subscribers (sizeNginx spreads them over the
   * workers). Default: as many as the open-files hard limit allows.
   */
  nginxConnections?: number;
  /**
   * Called with each `[alert]`, `[emerg]` or `[crit]` line nginx logs (HAProxy: each `[ALERT]` or
   * `[WARNING]` line, a node going down included). Default: printed on stderr.
   */
  onNginxAlert?: (line: string) => void;
  /** Called when the balancer (nginx or HAProxy) exits while the cluster runs (not when stop() ends it). */
  onNginxExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** HAProxy's stderr lines an operator must see: it cannot start, bind or hold, or a node went down. */
const HAPROXY_ALERT = /\[(ALERT|WARNING)\]/;

/** N nodes and a balancer (nginx, HAProxy) in front of them, all children of this process. */
export class LocalCluster {
  private nginx: ChildProcess | undefined;
  /** HAProxy's processes beyond the first (`nginx` above): one per --nginx-workers, sharing the port. */
  private readonly moreHaproxies: ChildProcess[] = [];
  private follower: LogFollower | undefined;
  private stopped = false;

  private constructor(
    readonly nodes: ClusterNode[],
    readonly port: number,
    readonly dir: string,
    private readonly nginxBinary: string,
    /** How nginx was sized (workers, connections and files per worker). */
    readonly sizing: NginxSizing,
    private readonly options: LocalClusterOptions,
  ) {}

  /** The balancer's (nginx master's, HAProxy's) process id, while it runs. */
  get nginxPid(): number | undefined {
    return this.nginx?.pid;
  }

  /** Which balancer is in front. */
  get proxy(): ProxyKind {
    return this.options.proxy ?? 'nginx';
  }

  /** The balancer's URL: what clients and publishers use. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Starts the nodes, then nginx. Throws NginxSizingError before starting anything when the open-files
   * hard limit cannot hold the connections asked for.
   */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const layer4 = options.proxy === 'haproxy' || options.proxy === 'nginx-stream';
    const sizing = sizeNginx({
      workers: options.nginxWorkers ?? availableParallelism(),
      connections: options.nginxConnections,
    });
    const count = options.nodes ?? 3;
    const ports = options.nodePorts ?? (await Promise.all(Array.from({ length: count }, () => freePort())));
    const port = options.port || (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'crier-cluster-'));
    const args = [
      '--store',
      options.store,
      // At layer 4 the balancer connects from L4_SOURCE and names each client in a PROXY header, which
      // the nodes believe from that address only.
      ...(layer4 ? ['--proxy-protocol', '--trusted-proxies', L4_SOURCE] : []),
      // Behind nginx every subscriber comes from nginx's address: trusting it makes the per-address limits
      // (connections, pending connections, selector memory) count the client X-Forwarded-For names, and
      // exempts nginx from the pending-connection cap (a connect storm all arrives from nginx).
      ...(layer4 || (options.nodeArgs ?? []).some((a) => a.startsWith('--trusted-proxies'))
        ? []
        : ['--trusted-proxies', '127.0.0.1,::1']),
      '--max-connections-per-ip',
      '50000',
      // Discovery links name nginx, not the node that answered.
      ...((options.nodeArgs ?? []).some((a) => a.startsWith('--public-url'))
        ? []
        : ['--public-url', `http://127.0.0.1:${port}/.well-known/mercure`]),
      ...(options.nodeArgs ?? []),
    ];
    const nodes = ports.map((p) => new ClusterNode(p, args));
    const cluster = new LocalCluster(nodes, port, dir, options.nginx ?? DEFAULT_NGINX, sizing, options);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      if (options.proxy === 'haproxy') await cluster.startHaproxy();
      else await cluster.startNginx();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The generated configuration: nginx.conf, or haproxy.cfg with --proxy haproxy. */
  get nginxConf(): string {
    return join(this.dir, this.proxy === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
  }

  private async startNginx(): Promise<void> {
    const nodes = this.nodes.map((n) => `127.0.0.1:${n.port}`);
    const listen = `127.0.0.1:${this.port}`;
    if (this.proxy === 'nginx-stream') {
      const module = nginxStreamModule(this.nginxBinary);
      if (module === undefined)
        throw new Error(
          `nginx at ${this.nginxBinary} has no stream module (apt-get install libnginx-mod-stream).`,
        );
      writeFileSync(
        this.nginxConf,
        renderNginxStreamConf({
          dir: this.dir,
          nodes,
          listen,
          sizing: this.sizing,
          source: L4_SOURCE,
          module,
        }),
      );
    } else {
      for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(this.dir, sub));
      writeFileSync(this.nginxConf, renderNginxConf({ dir: this.dir, nodes, listen, sizing: this.sizing }));
    }
    const errorLog = join(this.dir, 'error.log');
    const alert = this.options.onNginxAlert ?? ((line) => process.stderr.write(`nginx: ${line}\n`));
    // nginx writes its start-up failures (setrlimit, bind) and its alerts while running (worker_connections
    // not enough, accept() failing with EMFILE, no live upstreams) into this log: the operator sees them.
    this.follower = new LogFollower(errorLog, alert);
    const child = spawn(this.nginxBinary, ['-e', errorLog, '-p', this.dir, '-c', this.nginxConf], {
      detached: true,
      stdio: 'ignore',
    });
    this.nginx = child;
    child.once('exit', (code, signal) => {
      this.follower?.poll();
      if (!this.stopped) this.options.onNginxExit?.(code, signal);
    });
    await this.answering('nginx', () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8').trim() : ''));
  }

  /** HAProxy in the foreground (-db): its alerts and server state changes come on its stderr. */
  private async startHaproxy(): Promise<void> {
    writeFileSync(
      this.nginxConf,
      renderHaproxyConf({
        nodes: this.nodes.map((n) => `127.0.0.1:${n.port}`),
        listen: `127.0.0.1:${this.port}`,
        sizing: this.sizing,
        source: L4_SOURCE,
      }),
    );
    const alert = this.options.onNginxAlert ?? ((line) => process.stderr.write(`haproxy: ${line}\n`));
    let output = '';
    // Like nginx's workers, one single-threaded HAProxy process per worker, each with its own open-files
    // limit, all bound to the port with SO_REUSEPORT (HAProxy's default): the kernel spreads the clients.
    for (let i = 0; i < this.sizing.workers; i++) {
      const child = spawn(this.options.haproxy ?? DEFAULT_HAPROXY, ['-db', '-f', this.nginxConf], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      if (i === 0) this.nginx = child;
      else this.moreHaproxies.push(child);
      let partial = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        output = (output + chunk).slice(-4000);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) if (HAPROXY_ALERT.test(line)) alert(line);
      });
      child.once('exit', (code, signal) => {
        if (!this.stopped) this.options.onNginxExit?.(code, signal);
      });
    }
    await this.answering('haproxy', () => output.trim());
  }

  /** Resolves once /healthz answers 200 through the balancer; throws with its log if it exits first. */
  private async answering(name: string, log: () => string): Promise<void> {
    const children = [this.nginx!, ...this.moreHaproxies];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const gone = children.find((c) => c.exitCode !== null);
      if (gone !== undefined) throw new Error(`${name} exited (${gone.exitCode}): ${log()}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {}
      if (Date.now() > deadline) throw new Error(`${name} did not answer in 10 s`);
      await sleep(50);
    }
  }

  /** Stops nginx and every node (SIGTERM, then SIGKILL after `graceMs`) and removes the directory. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const nginx = this.nginx;
    const all = [...(nginx === undefined ? [] : [nginx]), ...this.moreHaproxies, ...this.nodes.map((n) => n)];
    await Promise.all(
      all.map(async (item) => {
        if (item instanceof ClusterNode) {
          const timer = setTimeout(() => void item.stop('SIGKILL'), graceMs);
          await item.stop('SIGTERM');
          clearTimeout(timer);
        } else {
          // nginx: SIGQUIT is its graceful stop; SIGTERM its fast one (HAProxy's too: SIGUSR1 is graceful).
          const gone = exited(item);
          killGroup(item, 'SIGTERM');
          const timer = setTimeout(() => killGroup(item, 'SIGKILL'), graceMs);
          await gone;
          clearTimeout(timer);
        }
      }),
    );
    this.follower?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const USAGE = `Usage: crier cluster [options] [-- crier serve options]

Starts N local hub nodes on one Redis (or NATS) and a load balancer in front of them, for trying the
cluster on one machine. Ctrl-C stops everything. Needs redis-server (or nats-server -js) running and
nginx (or HAProxy) installed.

Options:
  --nodes N        Number of hub nodes [default: 3]
  --port N         The balancer's port [default: 8080]
  --store URL      redis://host:port[/db] or nats://host:port [default: redis://127.0.0.1:6379]
  --proxy KIND     The balancer: nginx (HTTP, layer 7: deploy/nginx/crier.conf), haproxy (TCP,
                   layer 4: deploy/haproxy/crier.cfg) or nginx-stream (TCP, layer 4:
                   deploy/nginx/crier-stream.conf). At layer 4 the nodes run --proxy-protocol and
                   trust the balancer's address, ${L4_SOURCE} [default: nginx]
  --nginx PATH     The nginx binary [default: /usr/sbin/nginx]
  --haproxy PATH   The HAProxy binary [default: /usr/sbin/haproxy]
  --nginx-workers N
                   nginx worker processes, or HAProxy processes [default: one per core]
  --nginx-connections N
                   Connections the balancer holds in all, about twice the subscribers (spread over
                   nginx's workers) [default: as many as the open-files hard limit allows]
  --help           Show this help

Anything after -- goes to every node, e.g. -- --jwt-key SECRET --anonymous.
With no --jwt-key there, the nodes run with --dev (the well-known development key, anonymous subscribers).
nginx's [alert], [emerg] and [crit] log lines (HAProxy's [ALERT] and [WARNING] lines) are printed on
stderr as they happen; if the balancer dies, the nodes are stopped and the exit status is 1.`;

/** Parses an integer option in [min, max]; undefined when it is not one. */
function integer(value: string, min: number, max: number): number | undefined {
  const n = Number(value);
  return /^\d+$/.test(value) && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

export async function clusterCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const nodeArgs = dash === -1 ? [] : argv.slice(dash + 1);
  const values: Record<string, string> = {
    nodes: '3',
    port: '8080',
    store: 'redis://127.0.0.1:6379',
    proxy: 'nginx',
    nginx: DEFAULT_NGINX,
    haproxy: DEFAULT_HAPROXY,
    'nginx-workers': String(availableParallelism()),
    'nginx-connections': 'auto',
  };
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return 0;
    }
    const name = arg.replace(/^--/, '').split('=', 1)[0]!;
    if (!arg.startsWith('--') || !(name in values)) {
      console.error(`crier cluster: unknown option ${arg}.\n\n${USAGE}`);
      return 2;
    }
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : own[++i];
    if (value === undefined) {
      console.error(`crier cluster: ${arg} needs a value.`);
      return 2;
    }
    values[name] = value;
  }
  const nodes = integer(values.nodes!, 1, 64);
  const port = integer(values.port!, 1, 65_535);
  const nginxWorkers = integer(values['nginx-workers']!, 1, 256);
  const nginxConnections =
    values['nginx-connections'] === 'auto' ? undefined : integer(values['nginx-connections']!, 64, 4_000_000);
  if (nodes === undefined) {
    console.error('crier cluster: --nodes: expected an integer from 1 to 64.');
    return 2;
  }
  if (port === undefined) {
    console.error('crier cluster: --port: expected a port from 1 to 65535.');
    return 2;
  }
  if (nginxWorkers === undefined) {
    console.error('crier cluster: --nginx-workers: expected an integer from 1 to 256.');
    return 2;
  }
  if (nginxConnections === undefined && values['nginx-connections'] !== 'auto') {
    console.error('crier cluster: --nginx-connections: expected an integer from 64 to 4000000, or auto.');
    return 2;
  }
  const proxy = PROXY_KINDS.find((k) => k === values.proxy);
  if (proxy === undefined) {
    console.error(
      `crier cluster: --proxy: expected nginx, haproxy or nginx-stream, got ${JSON.stringify(values.proxy)}.`,
    );
    return 2;
  }
  if (!/^(rediss?|nats):\/\/./.test(values.store!)) {
    console.error('crier cluster: --store: expected redis://host:port or nats://host:port.');
    return 2;
  }
  // Everything that can be known before starting a process is checked here, so a failure leaves nothing behind.
  let sizing: NginxSizing;
  try {
    sizing = sizeNginx({ workers: nginxWorkers, connections: nginxConnections });
  } catch (error) {
    console.error(`crier cluster: ${(error as Error).message}`);
    return 1;
  }
  if (proxy === 'haproxy') {
    if (!haproxyInstalled(values.haproxy)) {
      console.error(
        `crier cluster: haproxy not found at ${values.haproxy} (apt-get install haproxy, or --haproxy PATH).`,
      );
      return 1;
    }
  } else if (!nginxInstalled(values.nginx)) {
    console.error(
      `crier cluster: nginx not found at ${values.nginx} (apt-get install nginx, or --nginx PATH).`,
    );
    return 1;
  } else if (proxy === 'nginx-stream' && nginxStreamModule(values.nginx) === undefined) {
    console.error(
      `crier cluster: nginx at ${values.nginx} has no stream module (apt-get install libnginx-mod-stream).`,
    );
    return 1;
  }
  try {
    await portFree('127.0.0.1', port);
  } catch (error) {
    console.error(
      `crier cluster: port ${port} cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): choose another with --port N.`,
    );
    return 1;
  }
  const store = storeAddress(values.store!);
  try {
    await reachable(store.host, store.port);
  } catch (error) {
    const kind = values.store!.startsWith('nats') ? 'NATS (nats-server -js)' : 'Redis (redis-server)';
    console.error(
      `crier cluster: the store ${values.store} cannot be reached (${(error as Error).message}): start ${kind} or pass --store URL.`,
    );
    return 1;
  }
  const balancer = proxy === 'haproxy' ? 'haproxy' : 'nginx';
  const hasKey = nodeArgs.some((a) => /^--(jwt-key|publisher-jwt-key|jwks-url|dev)\b/.test(a));
  let nginxDied: (reason: string) => void = () => {};
  const died = new Promise<string>((resolve) => {
    nginxDied = resolve;
  });
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      nodes,
      port,
      store: values.store!,
      proxy,
      nginx: values.nginx,
      haproxy: values.haproxy,
      nginxWorkers,
      nginxConnections,
      nodeArgs: [...(hasKey ? [] : ['--dev', '--demo=false']), '--log-level', 'warn', ...nodeArgs],
      onNginxAlert: (line) => console.error(`crier cluster: ${balancer}: ${line}`),
      onNginxExit: (code, signal) => nginxDied(signal === null ? `exit status ${code}` : `signal ${signal}`),
    });
  } catch (error) {
    console.error(`crier cluster: could not start: ${(error as Error).message}`);
    return 1;
  }
  console.log(
    [
      `Crier cluster: ${nodes} node(s) on ${values.store} behind ${proxy} at ${cluster.url}`,
      ...cluster.nodes.map((n) => `  node ${n.url}`),
      `  Mercure hub: ${cluster.url}/.well-known/mercure`,
      proxy === 'haproxy'
        ? `  haproxy: ${sizing.workers} process(es) × maxconn ${Math.floor(sizing.workerConnections / 2)} (about ${sizing.subscribers} subscribers)`
        : `  nginx: ${sizing.workers} worker(s) × ${sizing.workerConnections} connections (about ${sizing.subscribers} subscribers)`,
      ...(proxy === 'nginx'
        ? []
        : [
            `  layer 4: PROXY protocol from ${L4_SOURCE} to the nodes (--proxy-protocol --trusted-proxies ${L4_SOURCE})`,
          ]),
      `  ${balancer} configuration: ${cluster.nginxConf}`,
      `Ctrl-C stops ${balancer} and the nodes.`,
    ].join('\n'),
  );
  const outcome = await new Promise<string | undefined>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void died.then((reason) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(reason);
    });
  });
  if (outcome !== undefined) {
    console.error(`crier cluster: ${balancer} died (${outcome}); stopping the nodes.`);
    await cluster.stop();
    return 1;
  }
  console.log('Stopping…');
  await cluster.stop();
  return 0;
}
