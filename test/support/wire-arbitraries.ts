/**
 * fast-check arbitraries for valid wire messages of every type (shared by the codec tests and
 * usable by any test that needs random well-formed traffic). Lists are kept short for speed;
 * the limits themselves are exercised by explicit tests.
 */
import fc from 'fast-check';
import type { Contact } from '../../src/core/types.js';
import { MAX_COORD_ERROR, MAX_COORD_MS, MAX_FORWARDED_INITIAL_BYTES, MIN_FORWARDED_INITIAL_BYTES } from '../../src/wire/limits.js';
import type {
  GossipMessage,
  NetCoord,
  Message,
  MessageOf,
  MessageType,
  StoreRejection,
} from '../../src/wire/messages.js';

export const idArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const sigArb = fc.uint8Array({ minLength: 64, maxLength: 64 });

const hostArb = fc.oneof(
  fc.ipV4(),
  fc.ipV6().map((h) => `[${h}]`),
  fc.constantFrom('localhost', 'node-1', 'relay.example.com', 'a', 'x_y.z'),
);
export const addrArb = fc.tuple(hostArb, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);
export const contactArb: fc.Arbitrary<Contact> = fc.record({ id: idArb, addr: addrArb });
const contactsArb = fc.array(contactArb, { maxLength: 6 });
const addrsArb = fc.array(addrArb, { maxLength: 4 });
/** Any code points (BOM, controls, astral planes); 64 code points stay within 256 bytes. */
export const topicArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 });
const textArb = fc.string({ unit: 'binary', maxLength: 100 });
const smallBytes = fc.uint8Array({ maxLength: 64 });
const sessionArb = fc.uint8Array({ minLength: 1, maxLength: 32 });
const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
const idsArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 6 });
const rejectionArb = fc.constantFrom<StoreRejection>(
  'ValueTooLarge',
  'QuotaExceeded',
  'RateLimited',
  'InvalidKey',
  'Pressure',
);

/** float32 values only: the codec sends coordinates as float32, so only those round-trip exactly. */
const f32 = (min: number, max: number) => fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true });
export const coordArb: fc.Arbitrary<NetCoord> = fc.record({
  x: f32(-MAX_COORD_MS, MAX_COORD_MS),
  y: f32(-MAX_COORD_MS, MAX_COORD_MS),
  height: f32(0, MAX_COORD_MS),
  error: f32(0, MAX_COORD_ERROR),
});

/** The sender's coordinate, present or absent (absent: the encoding of a node without tiering). */
function withCoord<T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<T & { coord?: NetCoord }> {
  return fc.tuple(base, fc.option(coordArb, { nil: undefined })).map(([m, coord]) => (coord === undefined ? m : { ...m, coord }));
}

/** A hole punch message with or without a forwarded QUIC Initial (1,200..1,500 bytes). */
function withInitial<T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<T & { initial?: Uint8Array }> {
  const initialArb = fc.uint8Array({ minLength: MIN_FORWARDED_INITIAL_BYTES, maxLength: MAX_FORWARDED_INITIAL_BYTES });
  return fc.tuple(base, fc.option(initialArb, { nil: undefined })).map(([m, initial]) => (initial === undefined ? m : { ...m, initial }));
}

/** A reply's own coordinate and per-contact coordinates: none, only `coord`, or both (one per contact). */
function withCoords<T extends object>(
  base: fc.Arbitrary<T>,
  contactsOf: (m: T) => readonly unknown[],
): fc.Arbitrary<T & { coord?: NetCoord; coords?: (NetCoord | null)[] }> {
  return base.chain((m) => {
    const n = contactsOf(m).length;
    return fc.oneof(
      fc.constant(m),
      coordArb.map((coord) => ({ ...m, coord })),
      fc
        .tuple(coordArb, fc.array(fc.option(coordArb, { nil: null }), { minLength: n, maxLength: n }))
        .map(([coord, coords]) => ({ ...m, coord, coords })),
    );
  });
}

export const gossipMessageArb: fc.Arbitrary<GossipMessage> = fc.record({
  topic: topicArb,
  source: idArb,
  seqno: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  data: smallBytes,
  signature: sigArb,
});

const t = <T extends MessageType>(type: T) => fc.constant(type);

/** One arbitrary per message type; the mapped type makes a missing type a compile error. */
export const messageArbs: { [T in MessageType]: fc.Arbitrary<MessageOf<T>> } = {
  Ping: withCoord(fc.record({ type: t('Ping'), from: contactArb })),
  FindNode: withCoord(fc.record({ type: t('FindNode'), from: contactArb, target: idArb })),
  FindValue: withCoord(fc.record({ type: t('FindValue'), from: contactArb, key: idArb })),
  Store: withCoord(
    fc.record({
    type: t('Store'),
    from: contactArb,
    key: idArb,
    value: smallBytes,
    kind: fc.constantFrom('content' as const, 'record' as const, 'relay-info' as const),
    }),
  ),
  Nodes: withCoords(fc.record({ type: t('Nodes'), nodes: contactsArb }), (m) => m.nodes),
  Value: withCoords(
    fc.record({ type: t('Value'), value: fc.option(smallBytes, { nil: null }), closer: contactsArb }),
    (m) => m.closer,
  ),
  Ack: withCoord(fc.record({ type: t('Ack'), rejection: fc.option(rejectionArb, { nil: null }) })),
  WhatIsMyAddr: fc.record({ type: t('WhatIsMyAddr'), from: contactArb }),
  YourAddr: fc.record({ type: t('YourAddr'), addr: addrArb }),
  RelayConnect: fc.record({
    type: t('RelayConnect'),
    from: contactArb,
    target: idArb,
    sessionId: sessionArb,
  }),
  RelayAccepted: fc.record({ type: t('RelayAccepted'), sessionId: sessionArb }),
  RelayConnected: fc.record({ type: t('RelayConnected'), sessionId: sessionArb, peer: contactArb }),
  RelayRejected: fc.record({ type: t('RelayRejected'), sessionId: sessionArb, reason: textArb }),
  RelayForward: fc.record({
    type: t('RelayForward'),
    from: contactArb,
    sessionId: sessionArb,
    payload: smallBytes,
  }),
  RelayForwarded: fc.record({ type: t('RelayForwarded'), sessionId: sessionArb, delivered: fc.boolean() }),
  RelayClose: fc.record({ type: t('RelayClose'), from: contactArb, sessionId: sessionArb }),
  RelayClosed: fc.record({ type: t('RelayClosed'), sessionId: sessionArb }),
  HolePunchRegister: fc.record({
    type: t('HolePunchRegister'),
    from: contactArb,
    target: idArb,
    addrs: addrsArb,
  }),
  HolePunchWaiting: fc.record({ type: t('HolePunchWaiting'), target: idArb }),
  HolePunchReady: withInitial(
    fc.record({
      type: t('HolePunchReady'),
      peer: contactArb,
      peerAddrs: addrsArb,
      delayMs: u32Arb,
    }),
  ),
  HolePunchStart: withInitial(fc.record({ type: t('HolePunchStart'), from: contactArb, target: idArb, addrs: addrsArb })),
  HolePunchFailed: fc.record({ type: t('HolePunchFailed'), target: idArb, reason: textArb }),
  PathProbe: fc.record({ type: t('PathProbe'), from: contactArb, nonce: sessionArb }),
  PathReply: fc.record({ type: t('PathReply'), nonce: sessionArb, observedAddr: addrArb }),
  NatTest: fc.record({
    type: t('NatTest'),
    from: contactArb,
    change: fc.constantFrom('address' as const, 'port' as const),
    nonce: sessionArb,
    replyTo: fc.option(addrArb, { nil: null }),
  }),
  NatTestAck: fc.record({ type: t('NatTestAck'), nonce: sessionArb, accepted: fc.boolean() }),
  IceCheck: fc.record({
    type: t('IceCheck'),
    from: contactArb,
    txId: sessionArb,
    priority: fc.integer({ min: 0, max: 0xffffffff }),
    useCandidate: fc.boolean(),
    controlling: fc.boolean(),
  }),
  ReachMe: fc.record({ type: t('ReachMe'), from: contactArb, addrs: addrsArb }),
  Subscribe: fc.record({ type: t('Subscribe'), from: contactArb, topic: topicArb }),
  Unsubscribe: fc.record({ type: t('Unsubscribe'), from: contactArb, topic: topicArb }),
  Graft: fc.record({ type: t('Graft'), from: contactArb, topic: topicArb }),
  Prune: fc.record({
    type: t('Prune'),
    from: contactArb,
    topic: topicArb,
    peers: contactsArb,
    backoffMs: u32Arb,
  }),
  Publish: fc.record({ type: t('Publish'), from: contactArb, message: gossipMessageArb }),
  IHave: fc.record({ type: t('IHave'), from: contactArb, topic: topicArb, ids: idsArb }),
  IWant: fc.record({ type: t('IWant'), from: contactArb, ids: idsArb }),
  Error: fc.record({
    type: t('Error'),
    code: fc.constantFrom('IdentityMismatch', 'BadRequest', 'x'),
    message: textArb,
  }),
};

export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  ...(Object.values(messageArbs) as fc.Arbitrary<Message>[]),
);
