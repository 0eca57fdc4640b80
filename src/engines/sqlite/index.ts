/** The SQLite engine: one hub node, durable history in a local file (`--store sqlite:PATH`). */
export { SqliteEngine, type SqliteEngineOptions } from './sqlite-engine.js';
