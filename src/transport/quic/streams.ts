/**
 * The streams of one QUIC connection. Every stream opens with one type byte:
 *   0x00 REQUEST  bidi: one length-prefixed request frame (+FIN), answered by one frame (+FIN);
 *                 uni:  one notification frame (+FIN), no answer.
 *   0x01 RAW      bidi: an application byte stream (QuicByteStream; bulk transfer, relays).
 * The frame length, not the FIN, says when a message is complete (a FIN can be lost for good
 * under loss). A garbage, oversized or surplus frame resets that stream only (both directions,
 * code APP_ERR.BAD_FRAME) and is reported; the connection keeps serving its other streams.
 *
 * Writes that do not fit the peer's flow-control window or the congestion window are queued
 * here and retried on every flush of the connection.
 */
import type { Connection } from '@matrixai/quic/native/index.js';
import { quiche } from '@matrixai/quic/native/index.js';
import { MAX_FRAME_SIZE } from '../../constants.js';
import { DecodeError, ProtocolError, TransportError } from '../../errors.js';
import { FrameReader } from '../../wire/framing.js';
import type { PeerInfo } from '../transport.js';
import { type ReadSide, QuicByteStream } from './byte-stream.js';
import { APP_ERR, STREAM_TYPE_RAW, STREAM_TYPE_REQUEST, lengthFrame, streamError, typedFrame } from './stream-frames.js';

export { QuicByteStream } from './byte-stream.js';
export { APP_ERR, STREAM_TYPE_RAW, STREAM_TYPE_REQUEST } from './stream-frames.js';

/** What the stream layer needs from its connection. */
export interface StreamHost {
  readonly native: Connection;
  readonly isServer: boolean;
  /** The authenticated peer (streams exist only after the identity check). */
  readonly peer: PeerInfo;
  /** Data was queued: produce packets soon. */
  wake(): void;
}

/** What the stream layer hands upwards (implemented by the transport). */
export interface StreamServices {
  /** Serve one request payload; the reply payload is written back. May throw DecodeError. */
  serveRequest(peer: PeerInfo, payload: Uint8Array): Promise<Uint8Array> | Uint8Array;
  serveNotify(peer: PeerInfo, payload: Uint8Array): void;
  badFrame(peer: PeerInfo, error: Error): void;
  rawStream(stream: QuicByteStream): void;
}

/** Completion of an outgoing request: a reply payload or an error. */
export type ReplyCallback = (err: Error | null, payload: Uint8Array | null) => void;

/** One read buffer for every stream: reads are synchronous; chunks handed on are copies. */
const READ_BUF = new Uint8Array(64 * 1024);
const EMPTY = new Uint8Array(0);

interface WriteQueue {
  chunks: Uint8Array[];
  bytes: number;
  fin: boolean;
  /** Called once the queue (with its FIN, if any) is fully handed to quiche. */
  onFlushed?: () => void;
  onError?: (err: Error) => void;
}

/** Remote-initiated stream ids that are finished: a low-water mark plus the few finished above it. */
class DoneIds {
  private below: number;
  private readonly done = new Set<number>();
  constructor(
    first: number,
    /** Streams still open; the mark may pass them (their reader is found first anyway). */
    private readonly isActive: (id: number) => boolean,
  ) {
    this.below = first;
  }
  has(id: number): boolean {
    return id < this.below || this.done.has(id);
  }
  /** The lowest id not known to be finished. */
  get lowest(): number {
    return this.below;
  }
  add(id: number): void {
    if (id < this.below) return;
    this.done.add(id);
    // An id the peer skipped (never opened) would hold the mark back forever: past a bound,
    // jump over it.
    if (this.done.size > MAX_DONE_TRACKED) this.below = Math.min(...this.done);
    while (this.done.delete(this.below) || this.isActive(this.below)) this.below += 4;
  }
}

const MAX_DONE_TRACKED = 4096;

export class StreamTable {
  private readonly readers = new Map<number, ReadSide>();
  private readonly writes = new Map<number, WriteQueue>();
  private nextBidi: number;
  private nextUni: number;
  private readonly remoteBidiDone: DoneIds;
  private readonly remoteUniDone: DoneIds;
  private closedWith: Error | undefined;
  /** Requests waiting for the peer to allow another bidirectional stream. */
  private readonly waitingOpens: Array<() => void> = [];

  constructor(
    private readonly host: StreamHost,
    private readonly services: StreamServices,
  ) {
    const s = host.isServer ? 1 : 0;
    this.nextBidi = s;
    this.nextUni = 2 + s;
    const active = (id: number): boolean => this.readers.has(id);
    this.remoteBidiDone = new DoneIds(1 - s, active);
    this.remoteUniDone = new DoneIds(3 - s, active);
  }

  /** Open a request stream carrying `payload`; `cb` gets the reply. Returns a cancel function. */
  request(payload: Uint8Array, cb: ReplyCallback): (reason: Error) => void {
    return this.exchangeRaw(typedFrame(STREAM_TYPE_REQUEST, payload), cb);
  }

  /**
   * Open a bidirectional stream, write `streamBytes` verbatim (type byte and framing included)
   * with FIN, and read one reply frame. `request` is built on it; tests use it to send
   * malformed streams.
   */
  exchangeRaw(streamBytes: Uint8Array, cb: ReplyCallback): (reason: Error) => void {
    let id = -1;
    let settled = false;
    const settle = (err: Error | null, reply: Uint8Array | null): void => {
      if (settled) return;
      settled = true;
      if (id >= 0) this.readers.delete(id);
      cb(err, reply);
    };
    const start = (): void => {
      if (settled) return;
      id = this.openBidi();
      this.startExchange(id, streamBytes, settle);
    };
    // The peer limits how many streams we may have open; past it, wait for credit.
    if (this.closedWith) settle(this.closedWith, null);
    else if (this.waitingOpens.length === 0 && this.host.native.peerStreamsLeftBidi() > 0) start();
    else this.waitingOpens.push(start);
    return (reason) => {
      if (settled) return;
      if (id >= 0) this.reset(id, APP_ERR.CANCELLED, true);
      else this.waitingOpens.splice(this.waitingOpens.indexOf(start), 1);
      settle(reason, null);
    };
  }

  private startExchange(id: number, streamBytes: Uint8Array, settle: (err: Error | null, reply: Uint8Array | null) => void): void {
    const reader = new FrameReader(MAX_FRAME_SIZE);
    this.readers.set(id, {
      data: (chunk, fin) => {
        let frames: Uint8Array[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          this.badFrame(id, err as Error);
          return settle(err as Error, null);
        }
        if (frames.length > 1 || (frames.length === 1 && reader.pending > 0)) {
          const err = new DecodeError('frame', 'more than one reply frame on a request stream');
          this.badFrame(id, err);
          return settle(err, null);
        }
        if (frames.length === 1) return settle(null, frames[0]!);
        if (fin) settle(new ProtocolError(`stream ${id} finished without a complete reply frame`), null);
      },
      fail: (err) => settle(err, null),
    });
    this.write(id, streamBytes, true, undefined, (err) => settle(err, null));
  }

  /** Send one notification frame on a fresh unidirectional stream. */
  notify(payload: Uint8Array): void {
    const id = this.nextUni;
    this.nextUni += 4;
    this.write(id, typedFrame(STREAM_TYPE_REQUEST, payload), true);
  }

  /** Open a raw byte stream (TransportError when the peer grants no stream right now). */
  openRaw(): QuicByteStream {
    if (this.closedWith) throw this.closedWith;
    if (this.host.native.peerStreamsLeftBidi() === 0) throw new TransportError('peer allows no more streams for now');
    const id = this.openBidi();
    const stream = new QuicByteStream(this, id, this.host.peer);
    this.readers.set(id, stream.readSide);
    this.write(id, Uint8Array.of(STREAM_TYPE_RAW), false);
    return stream;
  }

  /** Queue `data` (and maybe FIN) on stream `id` and try to hand it to quiche now. */
  write(id: number, data: Uint8Array, fin: boolean, onFlushed?: () => void, onError?: (err: Error) => void): void {
    if (this.closedWith) {
      onError?.(this.closedWith);
      return;
    }
    let q = this.writes.get(id);
    if (!q) {
      q = { chunks: [], bytes: 0, fin: false };
      this.writes.set(id, q);
    }
    if (data.length > 0) {
      q.chunks.push(data);
      q.bytes += data.length;
    }
    q.fin ||= fin;
    if (onFlushed) q.onFlushed = onFlushed;
    if (onError) q.onError = onError;
    this.pump(id, q);
    this.host.wake();
  }

  /** Bytes queued on `id` that quiche has not taken yet. */
  queued(id: number): number {
    return this.writes.get(id)?.bytes ?? 0;
  }

  /** Start requests waiting for stream credit, retry every blocked write (before each flush). */
  pumpAll(): void {
    while (this.waitingOpens.length > 0 && this.host.native.peerStreamsLeftBidi() > 0) this.waitingOpens.shift()!();
    for (const [id, q] of this.writes) this.pump(id, q);
  }

  /** Read everything quiche has for us; false when no stream had anything (no stream data arrived). */
  processReadable(): boolean {
    const native = this.host.native;
    // quiche's readable() iterator costs ~35 µs a call (mostly GC of its native wrapper), more
    // than a whole request otherwise: ask per stream instead (~0.1 µs each), for the streams we
    // know and for the next ones the peer will open, and fall back to the iterator only when
    // something readable is still left (a stream opened out of order, a late FIN).
    if (!native.isReadable()) return false;
    for (const id of this.readers.keys()) if (native.streamReadable(id)) this.readStream(id);
    this.acceptNext(this.remoteBidiDone);
    this.acceptNext(this.remoteUniDone);
    if (native.isReadable()) for (const id of native.readable()) this.readStream(id);
    return true;
  }

  /** Read the peer's new streams that are ready, in id order from the lowest one not yet seen. */
  private acceptNext(done: DoneIds): void {
    const native = this.host.native;
    for (let id = done.lowest; ; id += 4) {
      if (this.readers.has(id) || done.has(id)) continue;
      if (!native.streamReadable(id)) return;
      this.readStream(id);
    }
  }

  /** Reset stream `id` both ways (read only for a peer's unidirectional stream). */
  reset(id: number, code: number, local: boolean): void {
    const native = this.host.native;
    this.readers.delete(id);
    this.writes.delete(id);
    this.markRemoteDone(id);
    try {
      native.streamShutdown(id, quiche.Shutdown.Read, code);
    } catch {
      // already finished or never opened: nothing to stop
    }
    const uni = (id & 2) !== 0;
    if (!uni || local) {
      try {
        native.streamShutdown(id, quiche.Shutdown.Write, code);
      } catch {
        // already finished
      }
    }
    this.host.wake();
  }

  /** The connection is gone: fail every stream. */
  closeAll(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    const readers = [...this.readers.values()];
    const writes = [...this.writes.values()];
    this.readers.clear();
    this.writes.clear();
    for (const start of this.waitingOpens.splice(0)) start(); // each fails at once on closedWith
    for (const r of readers) r.fail(err);
    for (const q of writes) q.onError?.(err);
  }

  get activeStreams(): number {
    return this.readers.size + this.writes.size;
  }

  /** Streams we are writing to (open for writing, whether or not data is queued). */
  get sending(): boolean {
    return this.writes.size > 0;
  }

  /** Streams we are reading from (the peer may still send on them). */
  get receiving(): boolean {
    return this.readers.size > 0;
  }

  private openBidi(): number {
    const id = this.nextBidi;
    this.nextBidi += 4;
    return id;
  }

  private pump(id: number, q: WriteQueue): void {
    const native = this.host.native;
    while (q.chunks.length > 0 || q.fin) {
      const chunk = q.chunks[0] ?? EMPTY;
      const last = q.chunks.length <= 1;
      let n: number | null;
      try {
        n = native.streamSend(id, chunk, last && q.fin);
      } catch (e) {
        this.writes.delete(id);
        q.onError?.(streamError(id, e, 'write'));
        return;
      }
      if (n === null) return; // no capacity: retry on the next flush
      if (n < chunk.length) {
        q.chunks[0] = chunk.subarray(n);
        q.bytes -= n;
        return;
      }
      q.bytes -= chunk.length;
      q.chunks.shift();
      if (q.chunks.length === 0) {
        if (q.fin) q.fin = false;
        this.writes.delete(id);
        q.onFlushed?.();
        return;
      }
    }
  }

  private readStream(id: number): void {
    const native = this.host.native;
    if (!this.readers.has(id)) {
      if (this.isNewRemote(id)) this.readers.set(id, this.acceptStream(id));
      else return this.discard(id);
    }
    for (;;) {
      // Re-read each time: a reader may finish, reset or replace itself (typed → raw).
      const reader = this.readers.get(id);
      if (!reader) return this.discard(id);
      let r: [number, boolean] | null;
      try {
        r = native.streamRecv(id, READ_BUF);
      } catch (e) {
        this.readers.delete(id);
        this.markRemoteDone(id);
        reader.fail(streamError(id, e, 'read'));
        return;
      }
      if (r === null) return;
      const [n, fin] = r;
      try {
        reader.data(n > 0 ? READ_BUF.slice(0, n) : EMPTY, fin);
      } catch (e) {
        // A consumer callback (raw stream) threw: that stream dies, the connection lives on.
        this.reset(id, APP_ERR.INTERNAL, true);
        reader.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (fin) return;
    }
  }

  private isRemote(id: number): boolean {
    return (id & 1) !== (this.host.isServer ? 1 : 0);
  }

  private isNewRemote(id: number): boolean {
    if (!this.isRemote(id)) return false;
    return !((id & 2) !== 0 ? this.remoteUniDone : this.remoteBidiDone).has(id);
  }

  private markRemoteDone(id: number): void {
    if (this.isRemote(id)) ((id & 2) !== 0 ? this.remoteUniDone : this.remoteBidiDone).add(id);
  }

  /** Read and drop what arrives on a stream we are finished with (late FIN, surplus bytes). */
  private discard(id: number): void {
    const native = this.host.native;
    for (let i = 0; i < 64; i++) {
      try {
        const r = native.streamRecv(id, READ_BUF);
        if (r === null || r[1]) return;
      } catch {
        return;
      }
    }
  }

  private badFrame(id: number, err: Error): void {
    this.reset(id, APP_ERR.BAD_FRAME, false);
    this.services.badFrame(this.host.peer, err);
  }

  /** A stream the peer opened: its first byte says what it is. */
  private acceptStream(id: number): ReadSide {
    const uni = (id & 2) !== 0;
    let kind: 'typing' | 'request' | 'raw' = 'typing';
    let raw: QuicByteStream | undefined;
    const reader = new FrameReader(MAX_FRAME_SIZE);
    let got: Uint8Array | undefined;
    let finSeen = false;
    let replied = uni;
    const done = (): void => {
      if (finSeen && replied && this.readers.get(id) === side) {
        this.readers.delete(id);
        this.markRemoteDone(id);
      }
    };
    const side: ReadSide = {
      data: (chunk, fin) => {
        if (kind === 'typing') {
          if (chunk.length === 0) {
            if (fin) this.badFrame(id, new DecodeError('stream.type', 'stream finished before its type byte'));
            return;
          }
          const type = chunk[0]!;
          chunk = chunk.subarray(1);
          if (type === STREAM_TYPE_REQUEST) kind = 'request';
          else if (type === STREAM_TYPE_RAW && !uni) {
            kind = 'raw';
            raw = new QuicByteStream(this, id, this.host.peer);
            this.readers.set(id, raw.readSide);
            this.services.rawStream(raw);
            raw.readSide.data(chunk, fin);
            return;
          } else {
            return this.badFrame(id, new DecodeError('stream.type', `unknown stream type 0x${type.toString(16)}`));
          }
        }
        finSeen ||= fin;
        let frames: Uint8Array[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          return this.badFrame(id, err as Error);
        }
        if (frames.length > 1 || (got !== undefined && frames.length > 0) || (frames.length === 1 && reader.pending > 0)) {
          return this.badFrame(id, new DecodeError('frame', 'more than one frame on a request stream'));
        }
        if (frames.length === 1) {
          got = frames[0]!;
          if (uni) this.dispatchNotify(id, got);
          else this.dispatchRequest(id, got, () => {
            replied = true;
            done();
          });
        } else if (fin && got === undefined) {
          return this.badFrame(id, new DecodeError('frame', `stream finished inside a frame (${reader.pending} bytes)`));
        }
        done();
      },
      fail: () => {
        // The peer gave up on its request (reset): drop whatever we would have answered.
        this.writes.delete(id);
        this.readers.delete(id);
      },
    };
    return side;
  }

  private dispatchNotify(id: number, payload: Uint8Array): void {
    try {
      this.services.serveNotify(this.host.peer, payload);
    } catch (err) {
      this.badFrame(id, err as Error);
    }
  }

  private dispatchRequest(id: number, payload: Uint8Array, replied: () => void): void {
    const send = (reply: Uint8Array): void => {
      if (this.closedWith || !this.readers.has(id)) return; // reset meanwhile
      this.write(id, lengthFrame(reply), true);
      replied();
    };
    let result: Promise<Uint8Array> | Uint8Array;
    try {
      result = this.services.serveRequest(this.host.peer, payload);
    } catch (err) {
      this.badFrame(id, err as Error);
      return;
    }
    if (result instanceof Uint8Array) send(result);
    else result.then(send, (err: Error) => this.badFrame(id, err));
  }
}
