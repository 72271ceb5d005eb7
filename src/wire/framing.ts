/**
 * Length-prefixed framing for byte streams: each frame is a 4-byte big-endian length followed by
 * that many bytes. QUIC streams may split or merge writes arbitrarily, so a reader reassembles
 * frames and refuses any declared length over the limit before buffering it.
 */
import { MAX_FRAME_SIZE } from '../constants.js';
import { DecodeError } from '../errors.js';

/** Bytes of a frame's length prefix (u32, big-endian). */
export const FRAME_HEADER_BYTES = 4;

/** Prefix `payload` with its length. */
export function frame(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME_SIZE) {
    throw new DecodeError('frame.length', `payload of ${payload.length} bytes exceeds ${MAX_FRAME_SIZE}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Incremental frame reassembly. `push` returns every frame completed by the chunk. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameSize = MAX_FRAME_SIZE) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const header = this.peek(FRAME_HEADER_BYTES);
      const len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
      if (len > this.maxFrameSize) {
        throw new DecodeError('frame.length', `declared ${len} bytes exceeds ${this.maxFrameSize}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + len) break;
      const all = this.take(FRAME_HEADER_BYTES + len);
      frames.push(all.subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.chunks = [this.concat()];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Uint8Array {
    if (this.chunks[0]!.length < n) this.chunks = [this.concat()];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  private concat(): Uint8Array {
    const out = new Uint8Array(this.buffered);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
