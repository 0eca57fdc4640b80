/** Ports for test services (Redis, NATS, child processes): the one `freePort`, shared with the CLI. */
export { freePort } from '../cli/free-port.js';
