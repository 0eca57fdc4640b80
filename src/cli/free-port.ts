/**
 * `freePort`, the one copy: the CLI's local cluster uses it to pick ports for its nodes, and tests, test
 * services (src/testing/ports.test-helpers.ts) and bench/run.mjs (through dist/) import it from here.
 */
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (another process may take it before you listen). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
