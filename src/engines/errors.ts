import { CrierError } from '../protocol/errors.js';

export type EngineErrorCode =
  /** The engine was closed; nothing can be published or read any more. */
  | 'ENGINE_CLOSED'
  /** The update cannot be stored: no topics, a bad field. */
  | 'INVALID_UPDATE'
  /** The broker behind the engine cannot be reached. */
  | 'ENGINE_UNAVAILABLE';

/** An error from an engine. */
export class EngineError extends CrierError<EngineErrorCode> {
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'EngineError';
  }
}
