/**
 * Stream check: proof that a long-lived stream survives what happens under it (a relay → direct
 * upgrade, the node moving to another network). The sender writes a numbered byte stream on a raw
 * QUIC stream: 8-byte big-endian counters 0, 1, 2, … at a steady rate for `durationMs`, then an end
 * marker (the word 2^64−1 and the number of counter bytes sent) and FIN. The receiver checks every
 * counter as it arrives and, at the marker (it does not wait for the FIN, which quiche has been seen
 * to lose), answers with its own account:
 *
 *   [bytes u64][errors u32][first bad counter index u32, 0xffffffff when none][longest gap ms u32]
 *
 * The longest gap between two arrivals shows how long the stream stalled (e.g. during a migration).
 *
 * The check passes when the peer saw exactly the bytes sent, in order, with no error. Every node
 * on QUIC answers checks (createNode registers the receiving side); POST /stream starts one.
 */
import type { NodeId } from '../core/types.js';
import type { Components } from '../core/components.js';
import { ConfigError, TransportError, errorMessage } from '../errors.js';
import type { ByteStream, ByteStreams } from '../transport/capabilities.js';
import type { Target } from '../transport/transport.js';

export interface StreamCheckOptions {
  /** How long to send, ms. */
  durationMs: number;
  /** Sending rate, kbit/s. Default 800. */
  rateKbps?: number;
  /** How long to wait for the peer's account after the FIN, ms. Default 10 000. */
  answerTimeoutMs?: number;
}

export interface StreamCheckResult {
  sentBytes: number;
  /** What the peer counted (null when it never answered). */
  peerBytes: number | null;
  peerErrors: number | null;
  /** The longest time the peer waited between two arrivals, ms (null when it never answered). */
  peerMaxGapMs: number | null;
  intact: boolean;
  durationMs: number;
  error?: string;
}

const WORD = 8;
const END_MARK = 0xffffffffffffffffn;
const ANSWER = 20;
const NO_ERROR = 0xffffffff;
/** Writes per second at most: the rate is met with chunks of rate / TICKS_PER_SECOND. */
const TICKS_PER_SECOND = 50;

/** The receiving side: checks every stream it is given (the transport's raw-stream handler). */
export function answerStreamChecks(transport: ByteStreams, clock: Pick<Components, 'clock'>['clock']): void {
  transport.onStream((stream) => {
    let last = clock.now();
    let maxGap = 0;
    let expected = 0n;
    let bytes = 0;
    let errors = 0;
    let firstBad = NO_ERROR;
    let partial = new Uint8Array(0);
    let ending = false;
    let answered = false;
    let announced = -1;
    const answer = (): void => {
      if (answered) return;
      answered = true;
      if (partial.length > 0) errors++;
      if (announced >= 0 && announced !== bytes) errors++;
      const out = new Uint8Array(ANSWER);
      const v = new DataView(out.buffer);
      v.setBigUint64(0, BigInt(bytes));
      v.setUint32(8, errors);
      v.setUint32(12, firstBad);
      v.setUint32(16, Math.min(0xffffffff, Math.round(maxGap)));
      try {
        stream.write(out);
        stream.end();
      } catch {
        // the sender went away: nothing to tell
      }
    };
    stream.ondata = (chunk) => {
      const now = clock.now();
      if (bytes > 0) maxGap = Math.max(maxGap, now - last);
      last = now;
      let data = chunk;
      if (partial.length > 0) {
        data = new Uint8Array(partial.length + chunk.length);
        data.set(partial);
        data.set(chunk, partial.length);
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const whole = data.length - (data.length % WORD);
      let off = 0;
      for (; off < whole && !answered; off += WORD) {
        const word = view.getBigUint64(off);
        if (ending) {
          announced = Number(word);
          partial = data.slice(off + WORD);
          return answer();
        }
        if (word === END_MARK) {
          ending = true;
          continue;
        }
        bytes += WORD;
        if (word !== expected) {
          errors++;
          if (firstBad === NO_ERROR) firstBad = Number(expected & 0xffffffffn);
        }
        expected++;
      }
      partial = data.slice(whole);
    };
    stream.onend = answer; // a sender that ended without its marker
    stream.onerror = () => {};
  });
}

/** Send a numbered stream to `target` for `opts.durationMs` and compare with the peer's account. */
export async function runStreamCheck(
  transport: ByteStreams,
  components: Pick<Components, 'clock'>,
  target: Target & { nodeId: NodeId },
  opts: StreamCheckOptions,
): Promise<StreamCheckResult> {
  const rate = opts.rateKbps ?? 800;
  if (!(opts.durationMs > 0) || !(rate > 0)) throw new ConfigError('stream check: durationMs and rateKbps must be > 0');
  const clock = components.clock;
  const t0 = clock.now();
  const perTick = Math.max(WORD, Math.floor((rate * 1000) / 8 / TICKS_PER_SECOND / WORD) * WORD);
  let counter = 0n;
  let sent = 0;
  const fail = (error: string): StreamCheckResult => ({
    sentBytes: sent,
    peerBytes: null,
    peerErrors: null,
    peerMaxGapMs: null,
    intact: false,
    durationMs: clock.now() - t0,
    error,
  });
  let stream: ByteStream;
  try {
    stream = await transport.openStream(target);
  } catch (err) {
    return fail(`cannot open a stream: ${errorMessage(err)}`);
  }
  const answer = new Promise<Uint8Array>((resolve, reject) => {
    const got: Uint8Array[] = [];
    stream.ondata = (c) => got.push(Uint8Array.from(c));
    stream.onend = () => resolve(Uint8Array.from(Buffer.concat(got)));
    stream.onerror = (err) => reject(err);
  });
  answer.catch(() => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const tick = (): void => {
        if (clock.now() - t0 >= opts.durationMs) return resolve();
        const chunk = new Uint8Array(perTick);
        const v = new DataView(chunk.buffer);
        for (let off = 0; off < perTick; off += WORD) v.setBigUint64(off, counter++);
        try {
          stream.write(chunk);
        } catch (err) {
          return reject(err);
        }
        sent += perTick;
        clock.setTimer(1000 / TICKS_PER_SECOND, tick);
      };
      tick();
    });
    const mark = new Uint8Array(2 * WORD);
    const mv = new DataView(mark.buffer);
    mv.setBigUint64(0, END_MARK);
    mv.setBigUint64(WORD, BigInt(sent));
    stream.write(mark);
    stream.end();
  } catch (err) {
    return fail(`stream failed while sending: ${errorMessage(err)}`);
  }
  let reply: Uint8Array;
  try {
    reply = await withTimeout(answer, clock, opts.answerTimeoutMs ?? 10_000);
  } catch (err) {
    return fail(`no account from the peer: ${errorMessage(err)}`);
  }
  if (reply.length !== ANSWER) return fail(`the peer's account has ${reply.length} bytes, expected ${ANSWER}`);
  const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const peerBytes = Number(v.getBigUint64(0));
  const peerErrors = v.getUint32(8);
  return {
    sentBytes: sent,
    peerBytes,
    peerErrors,
    peerMaxGapMs: v.getUint32(16),
    intact: peerBytes === sent && peerErrors === 0,
    durationMs: clock.now() - t0,
  };
}

function withTimeout<T>(p: Promise<T>, clock: Pick<Components, 'clock'>['clock'], ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(ms, () => reject(new TransportError(`timed out after ${ms} ms`)));
    p.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (e: unknown) => {
        timer.cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
