import { describe, expect, it } from 'vitest';
import { ConnectionIndex } from '../../src/transport/quic/connection-index.js';
import type { QuicConnection } from '../../src/transport/quic/connection.js';

interface FakeConn {
  state: 'handshake' | 'ready' | 'closed';
  isServer: boolean;
  peerAddr: string;
  peer: { nodeId: Uint8Array };
  verifiedPeer: { nodeId: Uint8Array } | undefined;
}

const local = new Uint8Array(32).fill(1);
const remote = new Uint8Array(32).fill(2);
const ADDR = '203.0.113.1:8653';

function fake(isServer: boolean, state: FakeConn['state']): QuicConnection {
  const c: FakeConn = { state, isServer, peerAddr: ADDR, peer: { nodeId: remote }, verifiedPeer: state === 'ready' ? { nodeId: remote } : undefined };
  return c as unknown as QuicConnection;
}

function close(index: ConnectionIndex, conn: QuicConnection): void {
  (conn as unknown as FakeConn).state = 'closed';
  index.closed(conn);
}

describe('ConnectionIndex: which connection a dial to an address joins', () => {
  it('not a handshake the peer opened: when the verified connection there closes, a new dial starts', () => {
    const index = new ConnectionIndex(local);
    const verified = fake(true, 'ready');
    index.add(verified);
    index.ready(verified);
    const peersHandshake = fake(true, 'handshake');
    index.add(peersHandshake);
    expect(index.atAddr(ADDR)).toBe(verified);
    close(index, verified);
    expect(index.atAddr(ADDR)).toBeUndefined();
  });

  it('our own dial in its handshake, or a verified connection of the peer, takes over', () => {
    const index = new ConnectionIndex(local);
    const first = fake(false, 'ready');
    index.add(first, ADDR);
    index.ready(first);
    const ourDial = fake(false, 'handshake');
    index.add(ourDial);
    close(index, first);
    expect(index.atAddr(ADDR)).toBe(ourDial);

    close(index, ourDial);
    const theirs = fake(true, 'ready');
    index.add(theirs);
    index.ready(theirs);
    expect(index.atAddr(ADDR)).toBe(theirs);
  });

  it('a peer handshake moved to an address does not claim it', () => {
    const index = new ConnectionIndex(local);
    const peersHandshake = fake(true, 'handshake');
    index.add(peersHandshake);
    index.moved(peersHandshake, '198.51.100.9:1');
    expect(index.atAddr(ADDR)).toBeUndefined();
  });
});
