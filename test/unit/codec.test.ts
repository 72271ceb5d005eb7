import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_SIZE, MAX_VALUE_SIZE, WIRE_VERSION } from '../../src/constants.js';
import type { Contact } from '../../src/core/types.js';
import { DecodeError } from '../../src/errors.js';
import {
  decodeMessage,
  encodeMessage,
  isHostPort,
  MAX_ADDR_BYTES,
  MAX_CONTACTS,
  MAX_IDS,
  MAX_TEXT_BYTES,
  MAX_TOPIC_BYTES,
} from '../../src/wire/codec.js';
import { MESSAGE_TAGS, type Message, type MessageOf, type MessageType } from '../../src/wire/messages.js';
import { messageArb, messageArbs } from '../support/wire-arbitraries.js';

const id = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const me: Contact = { id: id(1), addr: '10.0.0.1:4433' };
const peer: Contact = { id: id(2), addr: '[2001:db8::1]:9000' };
const sig = new Uint8Array(64).fill(9);

/** One hand-written sample of every message type. */
const SAMPLES: { [T in MessageType]: MessageOf<T> } = {
  Ping: { type: 'Ping', from: me },
  FindNode: { type: 'FindNode', from: me, target: id(3) },
  FindValue: { type: 'FindValue', from: me, key: id(4) },
  Store: { type: 'Store', from: me, key: id(5), value: Uint8Array.of(1, 2, 3), kind: 'record' },
  Nodes: { type: 'Nodes', nodes: [me, peer] },
  Value: { type: 'Value', value: null, closer: [peer] },
  Ack: { type: 'Ack', rejection: 'QuotaExceeded' },
  WhatIsMyAddr: { type: 'WhatIsMyAddr', from: me },
  YourAddr: { type: 'YourAddr', addr: '203.0.113.5:4433' },
  RelayConnect: { type: 'RelayConnect', from: me, target: id(6), sessionId: Uint8Array.of(1, 2, 3, 4) },
  RelayAccepted: { type: 'RelayAccepted', sessionId: Uint8Array.of(7) },
  RelayConnected: { type: 'RelayConnected', sessionId: Uint8Array.of(7), peer },
  RelayRejected: { type: 'RelayRejected', sessionId: Uint8Array.of(7), reason: 'at capacity — try later' },
  RelayForward: {
    type: 'RelayForward',
    from: me,
    sessionId: Uint8Array.of(7),
    payload: new Uint8Array(1000).fill(0xaa),
  },
  RelayForwarded: { type: 'RelayForwarded', sessionId: Uint8Array.of(7), delivered: true },
  RelayClose: { type: 'RelayClose', from: me, sessionId: Uint8Array.of(7) },
  RelayClosed: { type: 'RelayClosed', sessionId: Uint8Array.of(7) },
  HolePunchRegister: {
    type: 'HolePunchRegister',
    from: me,
    target: id(8),
    addrs: ['192.168.1.2:5000', 'host.lan:5001'],
  },
  HolePunchWaiting: { type: 'HolePunchWaiting', target: id(8) },
  HolePunchReady: { type: 'HolePunchReady', peer, peerAddrs: ['198.51.100.7:6000'], delayMs: 250 },
  HolePunchStart: { type: 'HolePunchStart', from: me, target: id(8), addrs: [] },
  HolePunchFailed: { type: 'HolePunchFailed', target: id(8), reason: 'peer not registered' },
  PathProbe: { type: 'PathProbe', from: me, nonce: new Uint8Array(16).fill(3) },
  PathReply: { type: 'PathReply', nonce: new Uint8Array(16).fill(3), observedAddr: '203.0.113.5:4433' },
  NatTest: { type: 'NatTest', from: me, change: 'address', nonce: new Uint8Array(16).fill(4), replyTo: '198.51.100.7:3478' },
  NatTestAck: { type: 'NatTestAck', nonce: new Uint8Array(16).fill(4), accepted: true },
  IceCheck: {
    type: 'IceCheck',
    from: me,
    txId: new Uint8Array(12).fill(5),
    priority: 2130706431,
    useCandidate: true,
    controlling: false,
  },
  ReachMe: { type: 'ReachMe', from: me, addrs: ['203.0.113.5:4433'] },
  Subscribe: { type: 'Subscribe', from: me, topic: 'chat/lobby' },
  Unsubscribe: { type: 'Unsubscribe', from: me, topic: 'chat/lobby' },
  Graft: { type: 'Graft', from: me, topic: 'sensors/température' },
  Prune: { type: 'Prune', from: me, topic: 'chat/lobby', peers: [peer], backoffMs: 60_000 },
  Publish: {
    type: 'Publish',
    from: me,
    message: {
      topic: 'chat/lobby',
      source: id(10),
      seqno: 0xffff_ffff_ffff_ffffn,
      data: Uint8Array.of(104, 105),
      signature: sig,
    },
  },
  IHave: { type: 'IHave', from: me, topic: 'chat/lobby', ids: [id(11), Uint8Array.of(1)] },
  IWant: { type: 'IWant', from: me, ids: [id(11)] },
  Error: { type: 'Error', code: 'IdentityMismatch', message: 'from.id does not match the TLS identity' },
};

/** Decode expecting a DecodeError; returns its field. */
function decodeFailure(bytes: Uint8Array): string {
  try {
    decodeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as DecodeError).field;
  }
  throw new Error('decode unexpectedly succeeded');
}

function encodeFailure(msg: unknown): string {
  try {
    encodeMessage(msg as Message);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as DecodeError).field;
  }
  throw new Error('encode unexpectedly succeeded');
}

/** Build raw bytes: header for `type`, then the given parts. */
function raw(type: MessageType, ...parts: (number | Uint8Array | string)[]): Uint8Array {
  const out: number[] = [WIRE_VERSION, MESSAGE_TAGS[type]];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const rawContact = (c: Contact): (number | Uint8Array | string)[] => [c.id, c.addr.length, c.addr];

describe('codec round trip', () => {
  it('has a sample for every tag', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(MESSAGE_TAGS).sort());
  });

  it.each(Object.values(SAMPLES) as Message[])('$type round-trips with header [version, tag]', (msg) => {
    const bytes = encodeMessage(msg);
    expect(bytes[0]).toBe(WIRE_VERSION);
    expect(bytes[1]).toBe(MESSAGE_TAGS[msg.type]);
    expect(decodeMessage(bytes)).toEqual(msg);
  });

  it('lays out a FindNode body exactly: contact (id, addr), then the target', () => {
    const bytes = encodeMessage(SAMPLES.FindNode);
    expect(bytes).toEqual(raw('FindNode', ...rawContact(me), id(3)));
  });

  it('decodes from a view with a nonzero byteOffset', () => {
    const bytes = encodeMessage(SAMPLES.Publish);
    const backing = new Uint8Array(bytes.length + 13);
    backing.set(bytes, 7);
    expect(decodeMessage(backing.subarray(7, 7 + bytes.length))).toEqual(SAMPLES.Publish);
  });

  it('does not alias the input buffer', () => {
    const bytes = encodeMessage(SAMPLES.FindNode);
    const msg = decodeMessage(bytes) as MessageOf<'FindNode'>;
    bytes.fill(0);
    expect(msg.target).toEqual(id(3));
  });

  it('round-trips arbitrary valid messages of all types (seeded)', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeMessage(msg);
        const back = decodeMessage(bytes);
        expect(back).toEqual(msg);
        expect(encodeMessage(back)).toEqual(bytes);
      }),
      { seed: 0x5eed, numRuns: 2000 },
    );
  });

  it.each(Object.keys(messageArbs) as MessageType[])('generates and round-trips %s', (type) => {
    fc.assert(
      fc.property(messageArbs[type] as fc.Arbitrary<Message>, (msg) => {
        expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
      }),
      { seed: 42, numRuns: 30 },
    );
  });

  it('Store.kind is one byte, append-only: content 0, record 1, relay-info 2', () => {
    const value = Uint8Array.of(1, 2, 3);
    for (const [kind, wire] of [['content', 0], ['record', 1], ['relay-info', 2]] as const) {
      const msg: MessageOf<'Store'> = { ...SAMPLES.Store, value, kind };
      const bytes = encodeMessage(msg);
      expect(bytes).toEqual(raw('Store', ...rawContact(me), id(5), 3, value, wire));
      expect(decodeMessage(bytes)).toEqual(msg);
    }
  });

  it('accepts values at the limits', () => {
    const long: MessageOf<'Nodes'> = {
      type: 'Nodes',
      nodes: Array.from({ length: MAX_CONTACTS }, () => peer),
    };
    expect(decodeMessage(encodeMessage(long))).toEqual(long);
    const big: MessageOf<'Store'> = { ...SAMPLES.Store, value: new Uint8Array(MAX_VALUE_SIZE) };
    expect(decodeMessage(encodeMessage(big))).toEqual(big);
    const topic = 'é'.repeat(MAX_TOPIC_BYTES / 2);
    expect(decodeMessage(encodeMessage({ ...SAMPLES.Graft, topic }))).toEqual({ ...SAMPLES.Graft, topic });
    const addr = `${'a'.repeat(MAX_ADDR_BYTES - 6)}:65535`;
    expect(decodeMessage(encodeMessage({ type: 'YourAddr', addr }))).toEqual({ type: 'YourAddr', addr });
  });
});

describe('codec decode errors name the field', () => {
  const findNode = encodeMessage(SAMPLES.FindNode);

  it('header: version, tag, size', () => {
    expect(decodeFailure(new Uint8Array(0))).toBe('version');
    expect(decodeFailure(Uint8Array.of(WIRE_VERSION + 1, MESSAGE_TAGS.Ping))).toBe('version');
    expect(decodeFailure(Uint8Array.of(WIRE_VERSION))).toBe('tag');
    expect(decodeFailure(Uint8Array.of(WIRE_VERSION, 0x99))).toBe('tag');
    expect(decodeFailure(Uint8Array.of(WIRE_VERSION, 0x00))).toBe('tag');
    expect(decodeFailure(new Uint8Array(MAX_FRAME_SIZE + 1))).toBe('message');
  });

  it('a hole punch message decodes with and without its forwarded Initial, and refuses a short one', () => {
    const initial = new Uint8Array(1_200).fill(0xc3);
    const start: MessageOf<'HolePunchStart'> = { ...SAMPLES.HolePunchStart, initial };
    expect(decodeMessage(encodeMessage(start))).toEqual(start);
    expect(decodeMessage(encodeMessage(SAMPLES.HolePunchStart))).toEqual(SAMPLES.HolePunchStart);
    // cut inside the Initial: its length says 1,200, 100 bytes are there
    const bytes = encodeMessage(start);
    expect(decodeFailure(bytes.subarray(0, bytes.length - 1_100))).toBe('HolePunchStart.initial');
  });

  it('truncation and trailing bytes', () => {
    expect(decodeFailure(findNode.subarray(0, findNode.length - 1))).toBe('FindNode.target');
    expect(decodeFailure(findNode.subarray(0, 2))).toBe('FindNode.from.id');
    expect(decodeFailure(findNode.subarray(0, 2 + 32))).toBe('FindNode.from.addr');
    // One byte past the target starts the optional coordinate, which is then truncated...
    const extended = new Uint8Array(findNode.length + 1);
    extended.set(findNode);
    expect(decodeFailure(extended)).toBe('FindNode.coord.x');
    // ...and a byte past a whole coordinate is trailing garbage.
    const withCoord = encodeMessage({ ...SAMPLES.FindNode, coord: { x: 1, y: 2, height: 3, error: 0.5 } });
    const over = new Uint8Array(withCoord.length + 1);
    over.set(withCoord);
    expect(decodeFailure(over)).toBe('FindNode');
    const ack = encodeMessage({ ...SAMPLES.Ack, coord: { x: 1, y: 2, height: 3, error: 0.5 } });
    expect(decodeFailure(Uint8Array.of(...ack, 0))).toBe('Ack');
    const pub = encodeMessage(SAMPLES.Publish);
    // cut inside the seqno: header, contact, topic, source, then 3 of 8 seqno bytes
    const seqnoAt = 2 + 32 + 1 + me.addr.length + 1 + 'chat/lobby'.length + 32;
    expect(decodeFailure(pub.subarray(0, seqnoAt + 3))).toBe('Publish.message.seqno');
  });

  it('bad element of a list', () => {
    const nodes = [me, me, me, { id: id(2), addr: '10.0.0.1:44x3' }, me];
    expect(decodeFailure(raw('Nodes', nodes.length, ...nodes.flatMap(rawContact)))).toBe(
      'Nodes.nodes[3].addr',
    );
    expect(decodeFailure(raw('IHave', ...rawContact(me), 1, 't', 3, 1, 0xaa, 1, 0xbb, 0))).toBe(
      'IHave.ids[2]',
    );
  });

  it('over-long lists, strings and bytes', () => {
    expect(decodeFailure(raw('Nodes', MAX_CONTACTS + 1))).toBe('Nodes.nodes');
    // 5001 as a varint
    expect(
      decodeFailure(raw('IWant', ...rawContact(me), ((MAX_IDS + 1) & 0x7f) | 0x80, (MAX_IDS + 1) >> 7)),
    ).toBe('IWant.ids');
    expect(decodeFailure(raw('YourAddr', MAX_ADDR_BYTES + 1, 'a'.repeat(MAX_ADDR_BYTES - 5), ':4433'))).toBe(
      'YourAddr.addr',
    );
    expect(
      decodeFailure(raw('Subscribe', ...rawContact(me), 0x81, 0x02, 'x'.repeat(MAX_TOPIC_BYTES + 1))),
    ).toBe('Subscribe.topic');
    expect(decodeFailure(raw('Subscribe', ...rawContact(me), 0))).toBe('Subscribe.topic');
    const reason = MAX_TEXT_BYTES + 1;
    expect(
      decodeFailure(raw('HolePunchFailed', id(1), (reason & 0x7f) | 0x80, reason >> 7, 'r'.repeat(reason))),
    ).toBe('HolePunchFailed.reason');
    const v = MAX_VALUE_SIZE + 1; // 3-byte varint
    expect(
      decodeFailure(
        raw('Store', ...rawContact(me), id(1), (v & 0x7f) | 0x80, ((v >> 7) & 0x7f) | 0x80, v >> 14),
      ),
    ).toBe('Store.value');
    expect(decodeFailure(raw('RelayAccepted', 33, new Uint8Array(33)))).toBe('RelayAccepted.sessionId');
    expect(decodeFailure(raw('RelayAccepted', 0))).toBe('RelayAccepted.sessionId');
    expect(decodeFailure(raw('Error', 0, 0))).toBe('Error.code');
  });

  it('invalid UTF-8 and malformed varints', () => {
    expect(decodeFailure(raw('Subscribe', ...rawContact(me), 2, 0xc3, 0x28))).toBe('Subscribe.topic');
    expect(decodeFailure(raw('Error', 1, 'E', 3, 0xed, 0xa0, 0x80))).toBe('Error.message'); // encoded surrogate
    expect(decodeFailure(raw('Error', 1, 'E', 2, 0xc0, 0x80))).toBe('Error.message'); // overlong NUL
    expect(decodeFailure(raw('YourAddr', 0x89, 0x00, '1.2.3.4:5'))).toBe('YourAddr.addr'); // non-minimal varint
    expect(decodeFailure(raw('Nodes', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).toBe('Nodes.nodes');
  });

  it('bad enums, booleans and presence bytes', () => {
    expect(decodeFailure(raw('Ack', 1, 5))).toBe('Ack.rejection');
    expect(decodeFailure(raw('Ack', 2))).toBe('Ack.rejection');
    expect(decodeFailure(raw('Store', ...rawContact(me), id(1), 0, 3))).toBe('Store.kind');
    expect(decodeFailure(raw('RelayForwarded', 1, 7, 2))).toBe('RelayForwarded.delivered');
    expect(decodeFailure(raw('Value', 2, 0))).toBe('Value.value');
  });

  it('addresses that do not look like host:port', () => {
    for (const bad of [
      '1.2.3.4',
      '1.2.3.4:0',
      '1.2.3.4:65536',
      'host:01',
      ':80',
      'a b:1',
      '::1:80',
      '[::1]',
      'h:1:2',
    ]) {
      expect(isHostPort(bad), bad).toBe(false);
      expect(decodeFailure(raw('YourAddr', bad.length, bad)), bad).toBe('YourAddr.addr');
    }
    for (const good of [
      '1.2.3.4:1',
      'localhost:65535',
      '[::1]:80',
      '[fe80::1%eth0]:4433',
      'node_1.lab:4433',
    ]) {
      expect(isHostPort(good), good).toBe(true);
    }
  });
});

describe('codec encode validation', () => {
  it('refuses what decode would refuse, naming the field', () => {
    expect(encodeFailure({ ...SAMPLES.FindNode, target: new Uint8Array(31) })).toBe('FindNode.target');
    expect(encodeFailure({ ...SAMPLES.Ping, from: { id: id(1), addr: 'nowhere' } })).toBe('Ping.from.addr');
    expect(encodeFailure({ type: 'Ping' })).toBe('Ping.from');
    expect(encodeFailure({ type: 'Bogus' })).toBe('type');
    expect(encodeFailure(null)).toBe('type');
    expect(encodeFailure({ ...SAMPLES.Nodes, nodes: [me, me, { id: id(1), addr: 'x' }] })).toBe(
      'Nodes.nodes[2].addr',
    );
    expect(
      encodeFailure({ ...SAMPLES.Nodes, nodes: Array.from({ length: MAX_CONTACTS + 1 }, () => me) }),
    ).toBe('Nodes.nodes');
    expect(encodeFailure({ ...SAMPLES.HolePunchReady, delayMs: -1 })).toBe('HolePunchReady.delayMs');
    // a forwarded Initial is one whole QUIC datagram: never under RFC 9000's 1,200 bytes, never over 1,500
    expect(encodeFailure({ ...SAMPLES.HolePunchStart, initial: new Uint8Array(1_199) })).toBe('HolePunchStart.initial');
    expect(encodeFailure({ ...SAMPLES.HolePunchReady, initial: new Uint8Array(1_501) })).toBe('HolePunchReady.initial');
    expect(encodeFailure({ ...SAMPLES.Prune, backoffMs: 1.5 })).toBe('Prune.backoffMs');
    expect(encodeFailure({ ...SAMPLES.Publish, message: { ...SAMPLES.Publish.message, seqno: -1n } })).toBe(
      'Publish.message.seqno',
    );
    expect(
      encodeFailure({ ...SAMPLES.Publish, message: { ...SAMPLES.Publish.message, seqno: 1n << 64n } }),
    ).toBe('Publish.message.seqno');
    expect(
      encodeFailure({
        ...SAMPLES.Publish,
        message: { ...SAMPLES.Publish.message, signature: new Uint8Array(63) },
      }),
    ).toBe('Publish.message.signature');
    expect(encodeFailure({ ...SAMPLES.Subscribe, topic: 'bad\ud800' })).toBe('Subscribe.topic');
    expect(encodeFailure({ ...SAMPLES.Subscribe, topic: 'é'.repeat(MAX_TOPIC_BYTES / 2 + 1) })).toBe(
      'Subscribe.topic',
    );
    expect(encodeFailure({ ...SAMPLES.RelayForwarded, delivered: 1 })).toBe('RelayForwarded.delivered');
    expect(encodeFailure({ ...SAMPLES.Ack, rejection: 'Nope' })).toBe('Ack.rejection');
    expect(encodeFailure({ ...SAMPLES.Value, value: undefined })).toBe('Value.value');
    expect(encodeFailure({ ...SAMPLES.Store, value: new Uint8Array(MAX_VALUE_SIZE + 1) })).toBe(
      'Store.value',
    );
    expect(encodeFailure({ ...SAMPLES.Store, kind: 'other' })).toBe('Store.kind');
  });

  it('refuses a message whose total size exceeds a frame', () => {
    const payload = new Uint8Array(MAX_FRAME_SIZE - 10);
    expect(encodeFailure({ ...SAMPLES.RelayForward, payload })).toBe('RelayForward');
    expect(encodeFailure({ ...SAMPLES.RelayForward, payload: new Uint8Array(MAX_FRAME_SIZE + 1) })).toBe(
      'RelayForward.payload',
    );
  });

  it('a failed encode does not corrupt the next one', () => {
    expect(() => encodeMessage({ ...SAMPLES.Nodes, nodes: [me, { id: id(1), addr: 'x' }] })).toThrow(
      DecodeError,
    );
    expect(decodeMessage(encodeMessage(SAMPLES.Ping))).toEqual(SAMPLES.Ping);
  });
});
