/** Runs the demo on the test harness for development: `node --import tsx apps/testing/serve.ts [port]`. */
import { startDemoServer } from './harness.js';

const server = await startDemoServer({ port: Number(process.argv[2] ?? 3100) });
console.log(`demo on ${server.url}`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
