/**
 * The transport's connections, indexed: every connection not yet released, those still usable,
 * and the preferred one per peer address and per NodeId. Two nodes that dial each other at once
 * hold two connections; both sides prefer the same one — the connection the smaller NodeId
 * opened — so requests converge on it and the duplicate idles out.
 */
import { bytesEqual, toHex } from '../../core/bytes.js';
import type { NodeId } from '../../core/types.js';
import type { QuicConnection } from './connection.js';
import { compareBytes } from './replies.js';

export class ConnectionIndex {
  /** Usable or being set up. */
  readonly all = new Set<QuicConnection>();
  /** `all` plus those closing (draining). */
  readonly unreleased = new Set<QuicConnection>();
  private readonly byAddr = new Map<string, QuicConnection>();
  private readonly byNode = new Map<string, QuicConnection>();

  constructor(private readonly localNodeId: NodeId) {}

  /** A new connection (dialled to `addr`, or accepted). */
  add(conn: QuicConnection, addr?: string): void {
    this.all.add(conn);
    this.unreleased.add(conn);
    if (addr !== undefined) this.byAddr.set(addr, conn);
  }

  /** The preferred usable connection to `nodeId` (any state short of closed). */
  toNode(nodeId: NodeId): QuicConnection | undefined {
    const c = this.byNode.get(toHex(nodeId));
    return c && c.state !== 'closed' ? c : undefined;
  }

  /**
   * The connection a dial to `addr` may join: ours in any state short of closed, or a verified
   * one the peer opened — never a peer's handshake, which only the peer can finish.
   */
  atAddr(addr: string): QuicConnection | undefined {
    const c = this.byAddr.get(addr);
    return c && c.state !== 'closed' ? c : undefined;
  }

  /** Is `conn` the one its peer's requests use? */
  isPreferred(conn: QuicConnection): boolean {
    return this.byNode.get(toHex(conn.peer.nodeId)) === conn;
  }

  /** Verified peers with a ready preferred connection. */
  readyPeers(): QuicConnection[] {
    return [...this.byNode.values()].filter((c) => c.state === 'ready');
  }

  /** The peer of `conn` is verified. */
  ready(conn: QuicConnection): void {
    const key = toHex(conn.peer.nodeId);
    const current = this.byNode.get(key);
    if (!current || current.state === 'closed' || (current !== conn && this.isCanonical(conn) && !this.isCanonical(current))) {
      this.byNode.set(key, conn);
    }
    const addr = conn.peerAddr;
    const atAddr = this.byAddr.get(addr);
    if (!atAddr || atAddr.state === 'closed') this.byAddr.set(addr, conn);
  }

  /** `conn` can no longer be used: another connection to the same address or node takes over. False when already gone. */
  closed(conn: QuicConnection): boolean {
    if (!this.all.delete(conn)) return false;
    const addr = conn.peerAddr;
    if (this.byAddr.get(addr) === conn) {
      this.byAddr.delete(addr);
      for (const c of this.all) if (c.peerAddr === addr && joinable(c)) this.byAddr.set(addr, c);
    }
    const peer = conn.verifiedPeer;
    if (peer) {
      const key = toHex(peer.nodeId);
      if (this.byNode.get(key) === conn) {
        this.byNode.delete(key);
        for (const c of this.all) if (c.state === 'ready' && bytesEqual(c.peer.nodeId, peer.nodeId)) this.byNode.set(key, c);
      }
    }
    return true;
  }

  released(conn: QuicConnection): void {
    this.unreleased.delete(conn);
  }

  /** `conn`'s peer address changed from `oldAddr`. */
  moved(conn: QuicConnection, oldAddr: string): void {
    if (this.byAddr.get(oldAddr) === conn) this.byAddr.delete(oldAddr);
    if (!this.byAddr.has(conn.peerAddr) && joinable(conn)) this.byAddr.set(conn.peerAddr, conn);
  }

  /** Of two connections between the same nodes, both prefer the one the smaller NodeId opened. */
  private isCanonical(conn: QuicConnection): boolean {
    const opener = conn.isServer ? conn.peer.nodeId : this.localNodeId;
    const other = conn.isServer ? this.localNodeId : conn.peer.nodeId;
    return compareBytes(opener, other) < 0;
  }
}

/** Can a dial of ours use `c`? Our own dial still going, or any verified connection. */
function joinable(c: QuicConnection): boolean {
  return c.state !== 'closed' && (c.state === 'ready' || !c.isServer);
}
