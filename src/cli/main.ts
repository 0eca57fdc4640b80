/**
 * The `crier` command line: `crier serve` runs the hub, `crier cluster` local nodes behind
 * nginx, `crier bench` the load generator, `crier token` mints JWTs.
 * Each command lives in its own module and is loaded only when used.
 */
import { readFileSync } from 'node:fs';

const USAGE = `Usage: crier <command> [options]      (the crier-sse package; also: npx crier-sse <command>)

Commands:
  serve     Run the Crier hub (SSE endpoint, publish API, demo page)
  cluster   Run N local hub nodes over Redis or NATS behind nginx (crier cluster --help)
  bench     Load-test any SSE endpoint (crier bench --help)
  token     Mint a publisher or subscriber JWT for the hub (crier token --help)
  version   Print the version

Run 'crier <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { serveCommand } = await import('./serve.js');
      return serveCommand(rest);
    }
    case 'cluster': {
      const { clusterCommand } = await import('./cluster.js');
      return clusterCommand(rest);
    }
    case 'token': {
      const { tokenCommand } = await import('./token.js');
      return tokenCommand(rest);
    }
    case 'bench': {
      const { benchCommand } = await import('../bench/cli.js');
      return benchCommand(rest);
    }
    case 'version':
    case '--version':
    case '-v':
      console.log(version());
      return 0;
    case undefined:
      // No command is a usage error: the help goes to stderr and the status says so (scripts notice).
      console.error(USAGE);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`crier: unknown command '${command}'.\n\n${USAGE}`);
      return 2;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
