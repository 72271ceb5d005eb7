/**
 * Request dispatch for a node, apart from any socket: one handler per request type, every
 * request's claimed `from.id` checked against the transport-verified peer NodeId first (the
 * spec's Sybil protection), and failures turned into typed `Error` replies:
 *   - `IdentityMismatch`: `from.id` is not the authenticated peer (counted and logged);
 *   - `Unsupported`: no handler for this request type;
 *   - `Internal`: the handler threw (logged; the message is passed on).
 * A synchronous handler is answered synchronously, so the simulator pays no Promise per request.
 */
import { bytesEqual, shortHex } from '../core/bytes.js';
import type { Logger } from '../core/logger.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Counter, Metrics } from '../metrics/metrics.js';
import type { NotifyHandler, PeerInfo, RequestHandler } from '../transport/transport.js';
import type { ErrorReply, Message, MessageOf, MessageType, Request, RequestOf, RequestType, Response } from '../wire/messages.js';

export type { NotifyHandler, RequestHandler };

/** Outcome label of a served request in `quicmesh_requests_served_total{result}`. */
export type ServedResult = 'ok' | 'error' | 'internal' | 'unsupported' | 'identity_mismatch';

/** What a RequestRouter logs and counts with. */
export interface RequestRouterOptions {
  logger: Logger;
  metrics: Metrics;
}

interface Entry<T extends RequestType> {
  handler: RequestHandler<T>;
  /** Built-in defaults may be replaced once by a service; explicit registrations may not. */
  builtin: boolean;
}

/** One entry per request type, each typed for its type (so no handler is erased to a wider one). */
type HandlerTable = { [T in RequestType]?: Entry<T> };
type NotifyTable = { [T in MessageType]?: NotifyHandler<T> };

/** Request dispatch apart from any socket: a handler per type, the sender's id checked against the verified peer. */
export class RequestRouter {
  private readonly logger: Logger;
  private readonly handlers: HandlerTable = {};
  private readonly notifyHandlers: NotifyTable = {};
  private readonly served = new Map<string, number>();
  private mismatches = 0;
  private readonly servedTotal: Counter;
  private readonly mismatchTotal: Counter;

  constructor(opts: RequestRouterOptions) {
    this.logger = opts.logger;
    this.servedTotal = opts.metrics.counter(
      'quicmesh_requests_served_total',
      'Requests this node answered, by type and result',
      ['type', 'result'],
    );
    this.mismatchTotal = opts.metrics.counter(
      'quicmesh_identity_mismatch_total',
      'Requests whose from.id did not match the TLS-verified peer NodeId',
    );
  }

  /** Serve requests of `type` with `handler`. Throws ConfigError if a (non built-in) handler exists. */
  handle<T extends RequestType>(type: T, handler: RequestHandler<T>, opts: { builtin?: boolean } = {}): void {
    const existing = this.handlers[type];
    if (existing && !existing.builtin) throw new ConfigError(`a handler for ${type} requests is already registered`);
    const table: { [P in T]?: Entry<P> } = this.handlers; // the compiler sees key and entry agree here
    table[type] = { handler, builtin: opts.builtin ?? false };
  }

  /** Receive one-way messages of `type`. Throws ConfigError if a handler exists. */
  onNotify<T extends MessageType>(type: T, handler: NotifyHandler<T>): void {
    if (this.notifyHandlers[type] !== undefined) throw new ConfigError(`a notify handler for ${type} is already registered`);
    const table: { [P in T]?: NotifyHandler<P> } = this.notifyHandlers;
    table[type] = handler;
  }

  hasHandler(type: RequestType): boolean {
    return this.handlers[type] !== undefined;
  }

  /** Answer one request from an authenticated peer. Never throws or rejects. */
  dispatch(peer: PeerInfo, msg: Request): Promise<Response> | Response {
    const type = msg.type;
    this.served.set(type, (this.served.get(type) ?? 0) + 1);
    if (msg.from === undefined || !bytesEqual(msg.from.id, peer.nodeId)) {
      this.mismatches++;
      this.mismatchTotal.inc();
      this.servedTotal.inc({ type, result: 'identity_mismatch' });
      this.logger.debug('identity mismatch', {
        type,
        peer: shortHex(peer.nodeId),
        claimed: msg.from ? shortHex(msg.from.id) : 'none',
        addr: peer.addr,
      });
      return errorReply('IdentityMismatch', 'from.id does not match the authenticated peer NodeId');
    }
    return this.serve(type, peer, msg);
  }

  /** Hand `msg` to the handler of its type (`type` ties the two together for the compiler). */
  private serve<T extends RequestType>(type: T, peer: PeerInfo, msg: RequestOf<T>): Promise<Response> | Response {
    const entry = this.handlers[type];
    if (entry === undefined) {
      this.servedTotal.inc({ type, result: 'unsupported' });
      return errorReply('Unsupported', `this node does not serve ${type} requests`);
    }
    let result: Promise<Response> | Response;
    try {
      result = entry.handler(peer, msg);
    } catch (err) {
      return this.internal(type, peer, err);
    }
    if (isPromise(result)) {
      return result.then(
        (res) => this.done(type, res),
        (err: unknown) => this.internal(type, peer, err),
      );
    }
    return this.done(type, result);
  }

  /** Hand a one-way message to its handler, if any; a throwing handler is logged and ignored. */
  dispatchNotify(peer: PeerInfo, msg: Message): void {
    this.notify(msg.type, peer, msg);
  }

  private notify<T extends MessageType>(type: T, peer: PeerInfo, msg: MessageOf<T>): void {
    const handler = this.notifyHandlers[type];
    if (handler === undefined) {
      this.logger.trace('notification without handler', { type, peer: shortHex(peer.nodeId) });
      return;
    }
    try {
      handler(peer, msg);
    } catch (err) {
      this.logger.warn('notify handler failed', { type, error: errorMessage(err) });
    }
  }

  /** Requests dispatched so far, by type (whatever their outcome). */
  servedByType(): Record<string, number> {
    return Object.fromEntries(this.served);
  }

  get identityMismatches(): number {
    return this.mismatches;
  }

  private done(type: string, res: Response): Response {
    this.servedTotal.inc({ type, result: res.type === 'Error' ? 'error' : 'ok' });
    return res;
  }

  private internal(type: string, peer: PeerInfo, err: unknown): ErrorReply {
    this.servedTotal.inc({ type, result: 'internal' });
    this.logger.warn('request handler failed', { type, peer: shortHex(peer.nodeId), error: errorMessage(err) });
    return errorReply('Internal', errorMessage(err));
  }
}

/** An Error reply carrying `code` and `message`. */
export function errorReply(code: string, message: string): ErrorReply {
  return { type: 'Error', code, message };
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
