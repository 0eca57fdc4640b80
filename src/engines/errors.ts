import { CrierError } from '../protocol/errors.js';

export type EngineErrorCode =
  /** The engine was closed; nothing can be published or read any more. */
  | 'ENGINE_CLOSED'
  /** The update cannot be stored: no topics, a bad field. */
  | 'INVALID_UPDATE'
  /** The broker behind the engine cannot be reached. */
  | 'ENGINE_UNAVAILABLE'
  /** The engine's driver (an optional peer dependency: ioredis, @nats-io/*, better-sqlite3) is not installed. */
  | 'DRIVER_MISSING';

/** An error from an engine. */
export class EngineError extends CrierError<EngineErrorCode> {
  /**
   * For a rejected publish: true when the broker did not answer in time and may still have stored the
   * update (its answer was lost, or it runs the command later), false when it certainly did not.
   */
  readonly mayBeStored: boolean;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown; mayBeStored?: boolean }) {
    super(code, message, options);
    this.name = 'EngineError';
    this.mayBeStored = options?.mayBeStored ?? false;
  }
}
