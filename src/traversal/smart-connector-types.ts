/** The public shapes of a smart connection (smart-connector.ts): target, options and outcome. */
import type { NodeId } from '../core/types.js';
import type { RelayEndpoint } from '../identity/endpoint-record.js';
import type { SmartConnection } from '../connection/smart-connection.js';

/** The path a smart connection took: a plain dial ('direct'), a hole punch ('hole-punched') or a relay ('relayed'). */
export type ConnectPath = 'direct' | 'hole-punched' | 'relayed';

/** A peer to connect to, as its endpoint record says: NodeId, direct addresses, relays, whether it is behind a NAT. */
export interface ConnectTarget {
  nodeId: NodeId;
  /** Direct candidates (EndpointRecord.addrs, best first). */
  addrs: readonly string[];
  /** Relays the peer is reachable through (EndpointRecord.relays). */
  relays: readonly RelayEndpoint[];
  /** From its record (see behindNat()): behind a NAT, its punch starts at once; not, its dial gets longer. Absent: unknown. */
  behindNat?: boolean;
}

/**
 * Does an endpoint record's author sit behind a NAT? Its addresses are [as a peer saw it, its own]
 * (deduplicated: a public node publishes one): two different ones mean a NAT mapped it.
 */
export function behindNat(addrs: readonly string[]): boolean {
  return new Set(addrs).size > 1;
}

/** A smart connect's result: the verified connection, the path it took, and how long it took. */
export interface ConnectOutcome {
  connection: SmartConnection;
  path: ConnectPath;
  /** From the start of the connect until a verified connection existed. */
  timeToConnectMs: number;
}

/** Dial and migration timing of a SmartConnector: first-flight repeats, dial timeout, relay release, migration deadline. */
export interface SmartConnectorOptions {
  /** Resend a dial's first flight (hole punching). Default every 5 ms (12 times), then backing off, for 1.5 s. */
  repeatInitial?: { intervalMs: number; forMs: number };
  /** How long one dial may take, ms. Default 3 000. */
  dialTimeoutMs?: number;
  /** How long a relay session stays after its connection moved to a direct path, ms. Default 1 000. */
  releaseGraceMs?: number;
  /** Deadline of one migration attempt, ms. Default 2 000. */
  migrateTimeoutMs?: number;
  /**
   * TEST ONLY: start every punch this many ms late (default 0), so regression tests can inject a known
   * slowdown into hole-punched paths (the lab node reads it from QUICMESH_TEST_PUNCH_DELAY_MS).
   */
  testPunchDelayMs?: number;
}

/** Options of one smart connect: deadline, abort signal, a fresh connection, relay first with a later upgrade. */
export interface ConnectOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Drop what we have to the peer first, so this measures a new connection (the link to one of our relays stays). */
  fresh?: boolean;
  /**
   * Connect through a relay first and upgrade to direct afterwards (a punch `upgradeAfterMs`
   * after the relayed connection is up, then QUIC migration), as libp2p's DCUtR does.
   */
  relayFirst?: boolean;
  /** With relayFirst: ms before the upgrade attempt. Default 0. */
  upgradeAfterMs?: number;
}
