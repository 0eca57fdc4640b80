import cluster from 'node:cluster';

/** Set by the primary of `crier serve --workers N` in each worker's environment: N. */
export const WORKERS_ENV = 'CRIER_WORKER_OF';

/** Whether this process is a worker forked by `crier serve --workers N`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[WORKERS_ENV] !== undefined;
}
