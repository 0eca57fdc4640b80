export { MemoryEngine, type MemoryEngineOptions } from './memory-engine.js';
