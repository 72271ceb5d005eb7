/** A raw application byte stream over one QUIC stream (type RAW): bulk transfer, relays. */
import { TransportError } from '../../errors.js';
import type { ByteStream } from '../capabilities.js';
import type { PeerInfo } from '../transport.js';
import { APP_ERR } from './stream-frames.js';

const EMPTY = new Uint8Array(0);

/** What a byte stream needs from the stream table that owns it. */
export interface ByteStreamOwner {
  write(id: number, data: Uint8Array, fin: boolean, onFlushed?: () => void, onError?: (err: Error) => void): void;
  queued(id: number): number;
  reset(id: number, code: number, local: boolean): void;
}

/** The receiving half of a stream, as the stream table drives it. */
export interface ReadSide {
  /** Bytes (and FIN) arrived on the stream; `chunk` is ours to keep. */
  data(chunk: Uint8Array, fin: boolean): void;
  /** The peer reset the stream or the connection is gone. */
  fail(err: Error): void;
}

/**
 * A raw bidirectional byte stream (type RAW) for bulk data. Callback-based to keep the hot path
 * free of promises: set `ondata`/`onend`/`onerror`; `write` returns false once more than
 * `highWaterMark` bytes wait for the network, then `ondrain` fires when they have gone.
 */
export class QuicByteStream implements ByteStream {
  ondata: ((chunk: Uint8Array) => void) | undefined;
  onend: (() => void) | undefined;
  onerror: ((err: Error) => void) | undefined;
  ondrain: (() => void) | undefined;
  highWaterMark = 1024 * 1024;
  private ended = false;
  private failed: Error | undefined;

  constructor(
    private readonly table: ByteStreamOwner,
    readonly id: number,
    readonly peer: PeerInfo,
  ) {}

  /** @internal */
  readonly readSide: ReadSide = {
    data: (chunk, fin) => {
      if (chunk.length > 0) this.ondata?.(chunk);
      if (fin) this.onend?.();
    },
    fail: (err) => this.fail(err),
  };

  write(chunk: Uint8Array): boolean {
    if (this.failed) throw this.failed;
    if (this.ended) throw new TransportError(`stream ${this.id} already ended`);
    this.table.write(this.id, chunk, false, () => this.ondrain?.(), (err) => this.fail(err));
    return this.table.queued(this.id) < this.highWaterMark;
  }

  /** Send FIN after everything written. */
  end(): void {
    if (this.ended || this.failed) return;
    this.ended = true;
    this.table.write(this.id, EMPTY, true, undefined, (err) => this.fail(err));
  }

  /** Abort both directions. */
  reset(code: number = APP_ERR.CANCELLED): void {
    this.table.reset(this.id, code, true);
    this.fail(new TransportError(`stream ${this.id} reset locally`));
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.onerror?.(err);
  }
}
