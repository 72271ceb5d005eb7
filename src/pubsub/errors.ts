/** Errors the pubsub API throws on bad input from the application. */
import { QuicmeshError } from '../errors.js';

/** Why a pubsub call was refused. */
export type PubsubErrorCode = 'InvalidTopic' | 'InvalidData' | 'MessageTooLarge' | 'InvalidRtt' | 'Stopped';

/** A pubsub call refused the application's input (bad topic, data too large, stopped). */
export class PubsubError extends QuicmeshError {
  constructor(
    readonly code: PubsubErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
