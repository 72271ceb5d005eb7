/**
 * Fuzzing the codec and the framer (seeded, so failures replay). The codec's contract under
 * arbitrary input: decode either yields a message that re-encodes to exactly the same bytes
 * (encodings are canonical) or throws DecodeError, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_SIZE, WIRE_VERSION } from '../../src/constants.js';
import { DecodeError } from '../../src/errors.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { frame, FrameReader } from '../../src/wire/framing.js';
import { MESSAGE_TAGS } from '../../src/wire/messages.js';
import { messageArb } from '../support/wire-arbitraries.js';

/** The contract, as a check usable inside properties. */
function checkDecode(bytes: Uint8Array): 'ok' | 'rejected' {
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`non-DecodeError thrown: ${String(e)}`);
    // the codec's internal safety net must never fire: that would mean a bounds check is missing
    expect(e.message).not.toContain('internal codec failure');
    expect(e.field.length).toBeGreaterThan(0);
    return 'rejected';
  }
  expect(encodeMessage(msg)).toEqual(bytes);
  return 'ok';
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'splice'; at: number; del: number; insert: Uint8Array }
  | { kind: 'set'; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    del: fc.integer({ min: 0, max: 8 }),
    insert: fc.uint8Array({ maxLength: 8 }),
  }),
  // interesting byte values: limits, varint continuation, enum and bool edges
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xff, 0x3a, 0xc0),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.kind === 'extend' ? 0 : (m as { at: number }).at % bytes.length;
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      if (out.length > 0) out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = bytes.slice();
      if (out.length > 0) out[at] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, at);
    case 'extend': {
      const out = new Uint8Array(bytes.length + m.extra.length);
      out.set(bytes);
      out.set(m.extra, bytes.length);
      return out;
    }
    case 'splice': {
      const head = bytes.subarray(0, at);
      const tail = bytes.subarray(Math.min(bytes.length, at + m.del));
      const out = new Uint8Array(head.length + m.insert.length + tail.length);
      out.set(head);
      out.set(m.insert, head.length);
      out.set(tail, head.length + m.insert.length);
      return out;
    }
  }
}

const tags = Object.values(MESSAGE_TAGS);

describe('codec fuzz', () => {
  it('random bytes: decode or DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void checkDecode(b)),
      { seed: 1, numRuns: 3000 },
    );
  });

  it('random bodies behind a valid header reach the field decoders', () => {
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...tags),
        fc.oneof(fc.uint8Array({ maxLength: 3 }), fc.uint8Array({ maxLength: 120 })),
        (tag, body) => {
          const bytes = new Uint8Array(2 + body.length);
          bytes[0] = WIRE_VERSION;
          bytes[1] = tag;
          bytes.set(body, 2);
          if (checkDecode(bytes) === 'ok') decoded++;
        },
      ),
      { seed: 2, numRuns: 5000 },
    );
    // short random bodies are sometimes valid (e.g. Ack, RelayAccepted), so both outcomes were exercised
    expect(decoded).toBeGreaterThan(0);
  });

  it('mutated valid encodings (bit flips, truncation, extension, splices)', () => {
    const outcomes = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (msg, mutations) => {
        let bytes = encodeMessage(msg);
        for (const m of mutations) bytes = mutate(bytes, m);
        outcomes[checkDecode(bytes)]++;
      }),
      { seed: 3, numRuns: 8000 },
    );
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it('splices of two valid encodings', () => {
    fc.assert(
      fc.property(messageArb, messageArb, fc.nat(), fc.nat(), (a, b, i, j) => {
        const x = encodeMessage(a);
        const y = encodeMessage(b);
        const cutX = i % (x.length + 1);
        const cutY = j % (y.length + 1);
        const out = new Uint8Array(cutX + y.length - cutY);
        out.set(x.subarray(0, cutX));
        out.set(y.subarray(cutY), cutX);
        checkDecode(out);
      }),
      { seed: 4, numRuns: 3000 },
    );
  });
});

describe('FrameReader fuzz', () => {
  it('reassembles any chunking of many frames exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, cuts) => {
          const stream = new Uint8Array(payloads.reduce((n, p) => n + 4 + p.length, 0));
          let off = 0;
          for (const p of payloads) {
            const f = frame(p);
            stream.set(f, off);
            off += f.length;
          }
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const reader = new FrameReader();
          const got: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            got.push(...reader.push(stream.subarray(prev, p)));
            prev = p;
          }
          expect(got).toEqual(payloads);
          expect(reader.pending).toBe(0);
        },
      ),
      { seed: 5, numRuns: 1000 },
    );
  });

  it('carries encoded messages through arbitrary chunking', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        (msgs, chunk) => {
          const parts = msgs.map((m) => frame(encodeMessage(m)));
          const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let off = 0;
          for (const p of parts) {
            stream.set(p, off);
            off += p.length;
          }
          const reader = new FrameReader();
          const got = [];
          for (let i = 0; i < stream.length; i += chunk)
            got.push(...reader.push(stream.subarray(i, i + chunk)));
          expect(got.map(decodeMessage)).toEqual(msgs);
        },
      ),
      { seed: 6, numRuns: 300 },
    );
  });

  it('throws DecodeError(frame.length) on a declared oversize length, however it is chunked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_FRAME_SIZE + 1, max: 0xffffffff }),
        fc.integer({ min: 1, max: 4 }),
        (len, split) => {
          const header = new Uint8Array(4);
          new DataView(header.buffer).setUint32(0, len);
          const reader = new FrameReader();
          let error: unknown;
          try {
            reader.push(header.subarray(0, split));
            reader.push(header.subarray(split));
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DecodeError);
          expect((error as DecodeError).field).toBe('frame.length');
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });
});
