/** Errors the pubsub API throws on bad input from the application. */
import { QuicmeshError } from '../errors.js';

export type PubsubErrorCode = 'InvalidTopic' | 'InvalidData' | 'MessageTooLarge' | 'InvalidRtt' | 'Stopped';

export class PubsubError extends QuicmeshError {
  constructor(
    readonly code: PubsubErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
