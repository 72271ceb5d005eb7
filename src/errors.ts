/**
 * The error tree. Every error quicmesh throws on purpose is a QuicmeshError; the CLI maps the
 * subclasses to exit codes and prints no stack for user errors (ConfigError).
 */
export class QuicmeshError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a file, flag or option the user gave. */
export class ConfigError extends QuicmeshError {}

/** A peer sent something that breaks the protocol: malformed frame, wrong field, forged identity. */
export class ProtocolError extends QuicmeshError {}

/** A frame or message that cannot be decoded; `field` names the offending field path. */
export class DecodeError extends ProtocolError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The transport failed: connect refused, connection lost, closed. */
export class TransportError extends QuicmeshError {}

/** An operation exceeded its deadline. */
export class TimeoutError extends TransportError {}

/** An operation was cancelled through its AbortSignal. */
export class AbortError extends TransportError {}

/** The peer's TLS identity does not match the NodeId it claims or was expected to have. */
export class IdentityError extends ProtocolError {}

/** The remote answered a request with an error reply. */
export class RemoteError extends QuicmeshError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`remote error ${code}: ${message}`);
  }
}

/** An error's message (anything thrown, named in a log line or a reply). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error's class and message, `TimeoutError: …` (where the kind of failure matters to the reader). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
