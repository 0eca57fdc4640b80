/**
 * The drivers of the Redis, NATS and SQLite engines (ioredis, @nats-io/*, better-sqlite3) are optional
 * peer dependencies: an install of Crier does not pull them in, and an engine module loads its driver
 * when it is itself loaded. A driver that is not installed is reported by name, with the command that
 * installs it, instead of Node's bare "Cannot find package".
 */
import { EngineError } from './errors.js';

/**
 * `import(name)`, or an `EngineError` with code `DRIVER_MISSING` naming the packages `feature` needs
 * when `name` is not installed. Any other failure (a broken install, a native build that does not
 * load) is passed on unchanged.
 */
export async function importDriver<T>(
  name: string,
  feature: string,
  packages: string[] = [name],
): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : '';
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${name}'`)) {
      throw new EngineError(
        'DRIVER_MISSING',
        `${feature} needs the ${packages.join(' and ')} package${packages.length > 1 ? 's' : ''}, which ${packages.length > 1 ? 'are' : 'is'} not installed. Install ${packages.length > 1 ? 'them' : 'it'} next to crier-sse: npm install ${packages.join(' ')}`,
        { cause: error },
      );
    }
    throw error;
  }
}
