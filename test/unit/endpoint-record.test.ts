import fc from 'fast-check';
import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/errors.js';
import {
  checkRecordReplacement,
  decodeEndpointRecord,
  encodeEndpointRecord,
  endpointRecordKey,
  Keypair,
  MAX_ENDPOINT_RECORD_SIZE,
  MAX_RECORD_ADDRS,
  MAX_RECORD_RELAYS,
  nodeIdOfRecord,
  signEndpointRecord,
  verifyEndpointRecord,
  type EndpointRecord,
  type EndpointRecordContent,
} from '../../src/identity/index.js';
import { addrArb, idArb } from '../support/wire-arbitraries.js';

const alice = Keypair.generate(new Uint8Array(32).fill(1));
const mallory = Keypair.generate(new Uint8Array(32).fill(2));
const relayId = new Uint8Array(32).fill(7);
const content: EndpointRecordContent = {
  addrs: ['192.168.1.100:4433', '[2001:db8::5]:4433'],
  relays: [{ relayId, addrs: ['203.0.113.9:4433'] }],
  sequence: 3n,
  timestampMs: 1_700_000_000_000,
};

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as DecodeError).field;
  }
  throw new Error('unexpectedly succeeded');
}

const contentArb: fc.Arbitrary<EndpointRecordContent> = fc.record({
  addrs: fc.array(addrArb, { maxLength: 6 }),
  relays: fc.array(fc.record({ relayId: idArb, addrs: fc.array(addrArb, { maxLength: 3 }) }), {
    maxLength: 3,
  }),
  sequence: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  timestampMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

describe('endpoint records', () => {
  it('signs, verifies and round-trips', () => {
    const rec = signEndpointRecord(alice, content);
    expect(rec.identity).toEqual(alice.publicKeyBytes());
    expect(rec.signature).toHaveLength(64);
    expect(verifyEndpointRecord(rec)).toBe(true);
    const bytes = encodeEndpointRecord(rec);
    expect(bytes[0]).toBe(1);
    const back = decodeEndpointRecord(bytes);
    expect(back).toEqual(rec);
    expect(verifyEndpointRecord(back)).toBe(true);
    expect(nodeIdOfRecord(rec)).toEqual(alice.nodeId);
  });

  it('round-trips and verifies arbitrary content (seeded)', () => {
    fc.assert(
      fc.property(contentArb, (c) => {
        const rec = signEndpointRecord(alice, c);
        const bytes = encodeEndpointRecord(rec);
        expect(bytes.length).toBeLessThanOrEqual(MAX_ENDPOINT_RECORD_SIZE);
        const back = decodeEndpointRecord(bytes);
        expect(back).toEqual(rec);
        expect(verifyEndpointRecord(back)).toBe(true);
        expect(encodeEndpointRecord(back)).toEqual(bytes);
      }),
      { seed: 21, numRuns: 40 },
    );
  });

  it('detects any tampering with a signed field', () => {
    const rec = signEndpointRecord(alice, content);
    const tampered: EndpointRecord[] = [
      { ...rec, addrs: ['10.0.0.66:4433', ...rec.addrs.slice(1)] },
      { ...rec, relays: [] },
      { ...rec, relays: [{ relayId: new Uint8Array(32).fill(8), addrs: rec.relays[0]!.addrs }] },
      { ...rec, sequence: rec.sequence + 1n },
      { ...rec, timestampMs: rec.timestampMs + 1 },
      { ...rec, identity: mallory.publicKeyBytes() },
      { ...rec, signature: rec.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) },
    ];
    for (const t of tampered) expect(verifyEndpointRecord(t)).toBe(false);
  });

  it('verify returns false (never throws) on malformed records', () => {
    const rec = signEndpointRecord(alice, content);
    const malformed = [
      { ...rec, identity: new Uint8Array(31) },
      { ...rec, addrs: ['not an address'] },
      { ...rec, sequence: 3 },
      { ...rec, signature: new Uint8Array(10) },
      { ...rec, signature: undefined },
    ];
    for (const m of malformed) expect(verifyEndpointRecord(m as unknown as EndpointRecord)).toBe(false);
  });

  it('the signature is domain-separated: signing the bare encoding does not verify', () => {
    const rec = signEndpointRecord(alice, content);
    const body = encodeEndpointRecord(rec).subarray(0, -64);
    expect(verifyEndpointRecord({ ...rec, signature: alice.sign(body) })).toBe(false);
  });

  it('stores under BLAKE3(domain || identity)', () => {
    const key = endpointRecordKey(alice.identity);
    expect(key).toEqual(
      blake3(concatBytes(new TextEncoder().encode('quicmesh/endpoint-record-key/v1'), alice.identity)),
    );
    expect(key).not.toEqual(alice.nodeId);
    expect(endpointRecordKey(mallory.identity)).not.toEqual(key);
    expect(failure(() => endpointRecordKey(new Uint8Array(31)))).toBe('EndpointRecord.identity');
  });

  it('checkRecordReplacement refuses forged, stale and misplaced records', () => {
    const key = endpointRecordKey(alice.identity);
    const v3 = signEndpointRecord(alice, content);
    const v4 = signEndpointRecord(alice, { ...content, sequence: 4n });
    expect(checkRecordReplacement(undefined, v3, key)).toBeNull();
    expect(checkRecordReplacement(v3, v4, key)).toBeNull();
    expect(checkRecordReplacement(v4, v3, key)).toBe('Stale');
    expect(checkRecordReplacement(v3, v3, key)).toBe('Stale');
    expect(checkRecordReplacement(v3, { ...v4, sequence: 5n }, key)).toBe('Forged');
    // mallory signs a record claiming alice's identity: signature check fails
    const forged = {
      ...signEndpointRecord(mallory, { ...content, sequence: 99n }),
      identity: alice.identity,
    };
    expect(checkRecordReplacement(v3, forged, key)).toBe('Forged');
    // mallory's own valid record offered under alice's key
    expect(checkRecordReplacement(v3, signEndpointRecord(mallory, { ...content, sequence: 99n }), key)).toBe(
      'WrongKey',
    );
    expect(checkRecordReplacement(undefined, v3, new Uint8Array(32))).toBe('WrongKey');
    expect(checkRecordReplacement(undefined, { ...v3, identity: new Uint8Array(3) }, key)).toBe('Forged');
  });
});

describe('endpoint record strict decoding', () => {
  const rec = signEndpointRecord(alice, content);
  const bytes = encodeEndpointRecord(rec);

  it('names the field of each failure', () => {
    expect(failure(() => decodeEndpointRecord(new Uint8Array(0)))).toBe('EndpointRecord');
    expect(failure(() => decodeEndpointRecord(Uint8Array.of(2, ...bytes.subarray(1))))).toBe(
      'EndpointRecord.version',
    );
    expect(failure(() => decodeEndpointRecord(bytes.subarray(0, 20)))).toBe('EndpointRecord.identity');
    expect(failure(() => decodeEndpointRecord(bytes.subarray(0, -1)))).toBe('EndpointRecord.signature');
    expect(failure(() => decodeEndpointRecord(concatBytes(bytes, Uint8Array.of(0))))).toBe('EndpointRecord');
    expect(failure(() => decodeEndpointRecord(new Uint8Array(MAX_ENDPOINT_RECORD_SIZE + 1)))).toBe(
      'EndpointRecord',
    );
    // first address "192.168.1.100:4433" starts after version, identity and the count byte
    const badAddr = bytes.slice();
    badAddr[1 + 32 + 1 + 1] = 0x20;
    expect(failure(() => decodeEndpointRecord(badAddr))).toBe('EndpointRecord.addrs[0]');
    const tooMany = bytes.slice();
    tooMany[1 + 32] = MAX_RECORD_ADDRS + 1;
    expect(failure(() => decodeEndpointRecord(tooMany))).toBe('EndpointRecord.addrs');
  });

  it('names nested relay fields and timestamp overflow', () => {
    const noAddr = encodeEndpointRecord({ ...rec, relays: [{ relayId, addrs: ['a:1'] }] });
    // layout tail: ... relays count, relayId(32), addr count, len, "a:1", sequence(8), timestamp(8), signature(64)
    const lenAt = noAddr.length - 64 - 16 - 3 - 1;
    const badRelay = noAddr.slice();
    badRelay[lenAt + 3] = 0x3a; // "a::"
    expect(failure(() => decodeEndpointRecord(badRelay))).toBe('EndpointRecord.relays[0].addrs[0]');
    const hugeTs = noAddr.slice();
    hugeTs.fill(0xff, noAddr.length - 64 - 8, noAddr.length - 64);
    expect(failure(() => decodeEndpointRecord(hugeTs))).toBe('EndpointRecord.timestampMs');
  });

  it('sign and encode refuse content over the limits', () => {
    const addrs = Array.from({ length: MAX_RECORD_ADDRS + 1 }, (_, i) => `10.0.0.${i}:4433`);
    expect(failure(() => signEndpointRecord(alice, { ...content, addrs }))).toBe('EndpointRecord.addrs');
    const relays = Array.from({ length: MAX_RECORD_RELAYS + 1 }, () => ({ relayId, addrs: [] }));
    expect(failure(() => signEndpointRecord(alice, { ...content, relays }))).toBe('EndpointRecord.relays');
    expect(failure(() => signEndpointRecord(alice, { ...content, addrs: ['bad'] }))).toBe(
      'EndpointRecord.addrs[0]',
    );
    expect(failure(() => signEndpointRecord(alice, { ...content, timestampMs: -1 }))).toBe(
      'EndpointRecord.timestampMs',
    );
    expect(failure(() => signEndpointRecord(alice, { ...content, sequence: -1n }))).toBe(
      'EndpointRecord.sequence',
    );
    // within every count limit but over the total size
    const longAddr = (i: number): string => `${'h'.repeat(45)}${String(i).padStart(2, '0')}.example:4433`; // 60 bytes;
    const big = {
      ...content,
      addrs: Array.from({ length: MAX_RECORD_ADDRS }, (_, i) => longAddr(i)),
      relays: Array.from({ length: MAX_RECORD_RELAYS }, (_, i) => ({
        relayId,
        addrs: [longAddr(i), longAddr(i + 50)],
      })),
    };
    expect(failure(() => signEndpointRecord(alice, big))).toBe('EndpointRecord');
    expect(failure(() => encodeEndpointRecord({ ...rec, signature: new Uint8Array(3) }))).toBe(
      'EndpointRecord.signature',
    );
  });

  it('fuzz: mutated encodings decode canonically or throw DecodeError', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (at, value, cut) => {
        const m = bytes.slice();
        m[at % m.length] = value;
        for (const input of [m, m.subarray(0, cut % (m.length + 1))]) {
          try {
            const back = decodeEndpointRecord(input);
            expect(encodeEndpointRecord(back)).toEqual(input);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
            expect((e as Error).message).not.toContain('internal');
          }
        }
      }),
      { seed: 22, numRuns: 2000 },
    );
  });
});
