/**
 * The latency-aware DHT extension of the codec: optional Vivaldi coordinates at the end of DHT
 * requests and replies (NetCoord in messages.ts). Absent they cost nothing (old encoding);
 * present they are bounded float32s, refused with a DecodeError naming the field otherwise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Contact } from '../../src/core/types.js';
import { DecodeError } from '../../src/errors.js';
import { decodeMessage, encodeMessage, MAX_COORD_ERROR, MAX_COORD_MS } from '../../src/wire/codec.js';
import type { Message, MessageOf, NetCoord } from '../../src/wire/messages.js';
import { messageArbs } from '../support/wire-arbitraries.js';

const id = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const me: Contact = { id: id(1), addr: '10.0.0.1:4433' };
const peer: Contact = { id: id(2), addr: '10.0.0.2:4433' };
const here: NetCoord = { x: 12.5, y: -40.25, height: 3.5, error: 0.375 };
const there: NetCoord = { x: -100, y: 7, height: 0.5, error: 1.5 };

const SAMPLES: Message[] = [
  { type: 'Ping', from: me, coord: here },
  { type: 'FindNode', from: me, target: id(3), coord: here },
  { type: 'FindValue', from: me, key: id(4), coord: here },
  { type: 'Store', from: me, key: id(5), value: Uint8Array.of(1), kind: 'content', coord: here },
  { type: 'Nodes', nodes: [me, peer], coord: here, coords: [there, null] },
  { type: 'Nodes', nodes: [me], coord: here },
  { type: 'Value', value: null, closer: [peer], coord: here, coords: [there] },
  { type: 'Value', value: Uint8Array.of(9), closer: [], coord: here, coords: [] },
  { type: 'Ack', rejection: null, coord: here },
];

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as DecodeError).field;
  }
  throw new Error('unexpectedly succeeded');
}

/** Encode `msg` with `coord` patched in raw: the encoder would refuse the bad values itself. */
function withRawCoord(msg: Message, x: number, y: number, height: number, error: number): Uint8Array {
  const plain = encodeMessage(msg);
  const out = new Uint8Array(plain.length + 16);
  out.set(plain);
  const view = new DataView(out.buffer);
  [x, y, height, error].forEach((v, i) => view.setFloat32(plain.length + 4 * i, v));
  return out;
}

describe('codec: network coordinates', () => {
  it.each(SAMPLES)('$type with coordinates round-trips', (msg) => {
    const bytes = encodeMessage(msg);
    expect(decodeMessage(bytes)).toStrictEqual(msg);
    expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes);
  });

  it('absent coordinates cost no bytes and decode as absent fields (not undefined keys)', () => {
    const plain: MessageOf<'FindNode'> = { type: 'FindNode', from: me, target: id(3) };
    const withCoord = encodeMessage({ ...plain, coord: here });
    const without = encodeMessage(plain);
    expect(withCoord.length - without.length).toBe(16);
    expect(withCoord.subarray(0, without.length)).toEqual(without);
    const back = decodeMessage(without);
    expect(back).toStrictEqual(plain);
    expect('coord' in back).toBe(false);
    // An explicit undefined is the same as absent.
    expect(encodeMessage({ ...plain, coord: undefined })).toEqual(without);
  });

  it('property: DHT messages with and without coordinates round-trip exactly (seeded)', () => {
    const arb = fc.oneof(
      messageArbs.Ping,
      messageArbs.FindNode,
      messageArbs.FindValue,
      messageArbs.Store,
      messageArbs.Nodes,
      messageArbs.Value,
      messageArbs.Ack,
    ) as fc.Arbitrary<Message>;
    let absent = 0;
    let present = 0;
    fc.assert(
      fc.property(arb, (msg) => {
        if ('coord' in msg) present++;
        else absent++;
        const bytes = encodeMessage(msg);
        const back = decodeMessage(bytes);
        expect(back).toEqual(msg);
        // toEqual ignores undefined keys: check presence of the optional fields explicitly.
        expect(Object.keys(back).sort()).toEqual(Object.keys(msg).sort());
      }),
      { seed: 7, numRuns: 500 },
    );
    // Both shapes were exercised.
    expect(absent).toBeGreaterThan(50);
    expect(present).toBeGreaterThan(50);
  });

  it('refuses NaN, infinities and out-of-range values on decode, naming the field', () => {
    const ping: Message = { type: 'Ping', from: me };
    expect(failure(() => decodeMessage(withRawCoord(ping, NaN, 0, 1, 0.5)))).toBe('Ping.coord.x');
    expect(failure(() => decodeMessage(withRawCoord(ping, 0, Infinity, 1, 0.5)))).toBe('Ping.coord.y');
    expect(failure(() => decodeMessage(withRawCoord(ping, 0, 0, -1, 0.5)))).toBe('Ping.coord.height');
    expect(failure(() => decodeMessage(withRawCoord(ping, 0, 0, 1, -0.5)))).toBe('Ping.coord.error');
    expect(failure(() => decodeMessage(withRawCoord(ping, 0, 0, 1, MAX_COORD_ERROR * 2)))).toBe('Ping.coord.error');
    expect(failure(() => decodeMessage(withRawCoord(ping, MAX_COORD_MS * 2, 0, 1, 0.5)))).toBe('Ping.coord.x');
    expect(failure(() => decodeMessage(withRawCoord(ping, 0, -MAX_COORD_MS * 2, 1, 0.5)))).toBe('Ping.coord.y');
    // At the limits is fine.
    const edge = decodeMessage(withRawCoord(ping, -MAX_COORD_MS, MAX_COORD_MS, MAX_COORD_MS, MAX_COORD_ERROR));
    expect(edge).toEqual({ ...ping, coord: { x: -MAX_COORD_MS, y: MAX_COORD_MS, height: MAX_COORD_MS, error: MAX_COORD_ERROR } });
  });

  it('refuses bad coordinates on encode, naming the field', () => {
    const base: MessageOf<'Nodes'> = { type: 'Nodes', nodes: [me, peer], coord: here, coords: [there, null] };
    expect(failure(() => encodeMessage({ ...base, coord: { ...here, x: NaN } }))).toBe('Nodes.coord.x');
    expect(failure(() => encodeMessage({ ...base, coord: { ...here, height: -Infinity } }))).toBe('Nodes.coord.height');
    expect(failure(() => encodeMessage({ ...base, coords: [there, { ...there, error: 2 }] }))).toBe('Nodes.coords[1].error');
    expect(failure(() => encodeMessage({ ...base, coords: [there, { ...there, y: 1e9 }] }))).toBe('Nodes.coords[1].y');
    expect(failure(() => encodeMessage({ ...base, coords: [there] }))).toBe('Nodes.coords');
    // coords without coord cannot be told apart from coord on the wire: refused.
    expect(failure(() => encodeMessage({ ...base, coord: undefined }))).toBe('Nodes.coords');
    expect(failure(() => encodeMessage({ type: 'Ack', rejection: null, coord: { x: '1', y: 0, height: 0, error: 0 } } as unknown as Message))).toBe(
      'Ack.coord.x',
    );
  });

  it('refuses a coords list whose length differs from the contacts on decode', () => {
    // Value with 1 closer contact, coord, and a coords list of 2 nulls.
    const ok = encodeMessage({ type: 'Value', value: null, closer: [peer], coord: here, coords: [null] });
    const bad = Uint8Array.of(...ok.subarray(0, ok.length - 2), 2, 0, 0);
    expect(failure(() => decodeMessage(bad))).toBe('Value.coords');
    // A presence byte other than 0/1 inside coords.
    const badPresence = Uint8Array.of(...ok.subarray(0, ok.length - 1), 7);
    expect(failure(() => decodeMessage(badPresence))).toBe('Value.coords[0]');
  });
});
