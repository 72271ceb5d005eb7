/**
 * Docker's multiplexed stream format (logs and exec output of containers without a TTY): frames of an
 * 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, the payload length (big-endian u32) —
 * then the payload. A pure, incremental decoder: feed it chunks as they come, get whole frames back.
 */

export interface Frame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export class DemuxError extends Error {}

export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames completed by this chunk; an incomplete frame waits for the next chunk. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      if ((type !== 1 && type !== 2 && type !== 0) || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        throw new DemuxError(`not a multiplexed Docker stream (header ${this.pending.subarray(0, 8).toString('hex')})`);
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      frames.push({ stream: type === 2 ? 'stderr' : 'stdout', data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of an unfinished frame left at the end of the stream. */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Decode a whole multiplexed buffer into stdout and stderr text. */
export function demuxAll(buffer: Buffer): { stdout: string; stderr: string } {
  const d = new Demuxer();
  let stdout = '';
  let stderr = '';
  for (const f of d.push(buffer)) {
    if (f.stream === 'stderr') stderr += f.data.toString('utf8');
    else stdout += f.data.toString('utf8');
  }
  return { stdout, stderr };
}
