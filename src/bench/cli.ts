/**
 * `crier bench`: the load generator from the command line, against any SSE endpoint.
 *
 *   crier bench sub URL|--url URL -c 10000 -d 20            hold subscribers, count events, latency from "t"
 *   crier bench pub URL|--url URL -r 1000 -d 20 [-b BODY]    publish at a paced rate (%T = send time in µs)
 *   crier bench fanout --url URL --publish-url URL -r 10 -c 10000 -d 20 [--server-pid PID]
 *   crier bench reconnect --url URL --publish-url URL -c 10000 --backlog 100
 *   crier bench URL ...                                      same as `crier bench sub URL ...`
 */

import { parseArgs } from 'node:util';
import { CrierError } from '../protocol/errors.js';
import { DEFAULT_PUBLISH_BODY, publish } from './publisher.js';
import { fanout, reconnectStorm, subscribe } from './scenarios.js';
import { BenchError } from './target.js';

const USAGE = `Usage: crier bench <sub|pub|fanout|reconnect> [URL] [options]

  sub        hold subscribers on an SSE endpoint; report connect time, events/s, latency percentiles
  pub        publish at a paced rate (POST)
  fanout     subscribers and a publisher together: deliveries/s and latency at a publish rate
  reconnect  a reconnect storm: subscribers resume with Last-Event-ID --backlog events behind

Options:
  --url URL              the SSE endpoint (or give it as the first argument); %I = subscriber index mod --topics
  --publish-url URL      where to publish (fanout, reconnect)
  -c, --connections N    subscribers (default 100)
  -d, --duration S       seconds to hold or publish (default 10)
  -r, --rate R           publishes per second (default 10)
  -b, --body TEMPLATE    publish body; %T = send time in µs since the epoch, %I = counter mod --topics
                         (default ${DEFAULT_PUBLISH_BODY})
  --content-type TYPE    publish content type (default application/x-www-form-urlencoded)
  -H, --header 'K: V'    a subscriber header (repeatable); for pub, a publish header
  --publish-header 'K: V'  a publish header in fanout/reconnect (repeatable), e.g. Authorization
  --topics N             spread over N topics through %I (default 1)
  --workers N            subscriber processes (default: 9,000 sockets each, at least one per CPU)
  --source-addresses N   loopback source addresses 127.0.0.2.. (default 16 for a loopback target)
  --server-pid PID       read the server's RSS from /proc to report memory per connection
  --backlog N            events behind for reconnect (default 100)
  --json                 print the result as JSON
  -h, --help`;

const OPTIONS = {
  url: { type: 'string' },
  'publish-url': { type: 'string' },
  connections: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd' },
  rate: { type: 'string', short: 'r' },
  body: { type: 'string', short: 'b' },
  'content-type': { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  'publish-header': { type: 'string', multiple: true },
  topics: { type: 'string' },
  workers: { type: 'string' },
  'source-addresses': { type: 'string' },
  'server-pid': { type: 'string' },
  backlog: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function num(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new BenchError(
      'BAD_OPTION',
      `--${name} must be a non-negative number, got ${JSON.stringify(value)}.`,
    );
  return n;
}

/** Runs `crier bench ...` with the arguments after `bench`; resolves to the exit code. */
export async function benchCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let [command, url] = positionals;
  if (command && /^https?:\/\//.test(command)) {
    url = command;
    command = 'sub';
  }
  url = v.url ?? url;
  if (!command || !['sub', 'pub', 'fanout', 'reconnect'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (!url) {
    process.stderr.write(`crier bench ${command}: give the URL (--url URL).\n`);
    return 2;
  }
  try {
    const connections = num(v.connections, 'connections', 100);
    const duration = num(v.duration, 'duration', 10);
    const rate = num(v.rate, 'rate', 10);
    const topics = num(v.topics, 'topics', 1);
    const common = {
      url,
      connections,
      topics,
      headers: v.header ?? [],
      ...(v.workers ? { workers: num(v.workers, 'workers', 1) } : {}),
      ...(v['source-addresses']
        ? { sourceAddresses: num(v['source-addresses'], 'source-addresses', 0) }
        : {}),
    };
    const publishUrl = v['publish-url'];
    const publishOptions = {
      url: publishUrl ?? '',
      rate,
      duration,
      body: v.body ?? DEFAULT_PUBLISH_BODY,
      headers: v['publish-header'] ?? [],
      ...(v['content-type'] ? { contentType: v['content-type'] } : {}),
    };
    if ((command === 'fanout' || command === 'reconnect') && !publishUrl) {
      process.stderr.write(`crier bench ${command}: give --publish-url.\n`);
      return 2;
    }
    let result: unknown;
    if (command === 'sub') {
      result = await subscribe({ ...common, duration });
    } else if (command === 'pub') {
      result = await publish({ ...publishOptions, url, headers: v.header ?? [], topics });
    } else if (command === 'fanout') {
      result = await fanout({
        ...common,
        publish: publishOptions,
        ...(v['server-pid'] ? { serverPid: num(v['server-pid'], 'server-pid', 0) } : {}),
      });
    } else {
      result = await reconnectStorm({
        ...common,
        backlog: num(v.backlog, 'backlog', 100),
        publish: publishOptions,
      });
    }
    process.stdout.write(v.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatResult(result)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CrierError) {
      process.stderr.write(`crier bench: ${err.message} (${err.code})\n`);
      return 1;
    }
    throw err;
  }
}

/** One `key=value` line per section, like the C yardstick prints, so figures can be compared by eye. */
export function formatResult(result: unknown): string {
  const lines: string[] = [];
  const walk = (prefix: string, value: unknown) => {
    if (value === null || typeof value !== 'object') return;
    const flat: string[] = [];
    for (const [k, x] of Object.entries(value)) {
      if (x !== null && typeof x === 'object' && !(k === 'errorCodes' || k === 'statuses'))
        walk(prefix ? `${prefix}.${k}` : k, x);
      else if (x !== null && typeof x === 'object') {
        if (Object.keys(x).length > 0) flat.push(`${k}=${JSON.stringify(x)}`);
      } else flat.push(`${k}=${typeof x === 'number' && !Number.isInteger(x) ? x.toFixed(2) : String(x)}`);
    }
    if (flat.length > 0) lines.unshift(`${prefix || 'result'}: ${flat.join(' ')}`);
  };
  walk('', result);
  return lines.reverse().join('\n');
}
