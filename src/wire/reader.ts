/**
 * Bounds-checked binary reader over a Uint8Array view (any byteOffset). Every read checks what is
 * left first, so malformed input raises a WireFault, never a RangeError from DataView.
 */
import { WireFault } from './fault.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number): void {
    if (this.buf.length - this.pos < n) {
      throw new WireFault('', `truncated: need ${n} bytes, ${this.buf.length - this.pos} left`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** IEEE 754 single precision, big-endian. */
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned LEB128 up to 2^32-1; non-minimal encodings are refused so encodings stay canonical. */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new WireFault('', 'non-minimal varint');
        if (v > 0xffffffff) throw new WireFault('', 'varint exceeds 32 bits');
        return v;
      }
      scale *= 128;
    }
    throw new WireFault('', 'varint longer than 5 bytes');
  }

  /** A copy of the next `n` bytes (copied so decoded messages never pin the frame buffer). */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Strict UTF-8 of `n` bytes (a BOM is kept, so decode/encode is the identity). */
  utf8(n: number): string {
    this.need(n);
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (this.buf[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(this.buf[i]!);
      return s;
    }
    try {
      return decoder.decode(this.buf.subarray(start, end));
    } catch {
      throw new WireFault('', 'invalid UTF-8');
    }
  }
}
