import { engineContract } from './contract.test-helpers.js';
import { MemoryEngine } from './memory/index.js';

// The memory engine keeps nothing across a restart, so it is not `durable`.
engineContract('MemoryEngine', async ({ history }) => ({ engine: new MemoryEngine({ history }) }));
