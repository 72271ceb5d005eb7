/**
 * A memory network with NAT-like filtering and raw datagrams, for NAT traversal tests in virtual
 * time. A node made with `natted: true` is reached only from addresses it has sent something to
 * (a request, a reply, a raw punch datagram), like a port-restricted cone NAT; its own address
 * stays the same (no translation). Raw datagrams (what the punch driver sends; a capability the
 * transports here declare) travel like the network's packets, 5 ms one way, and can all be
 * dropped (`dropRaw`) to model NATs that never let a punch through.
 */
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { createNode, type CreateNodeOptions, type NodeAssembly } from '../../src/node/create-node.js';
import type { CapabilitySet } from '../../src/transport/capabilities.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { seededKeypairs, settle } from './virtual-time.js';

type RawHandler = (data: Uint8Array, from: { host: string; port: number }) => void;

/** `transport` declaring `extra` capabilities beside its own (a memory transport given what QUIC has). */
export function withCapabilities<T extends Transport>(transport: T, extra: CapabilitySet): T {
  return Object.assign(transport, { capabilities: { ...transport.capabilities, ...extra } });
}

export interface NatLabNodeOptions extends Partial<CreateNodeOptions> {
  metrics?: Metrics;
  /** Behind a filtering NAT: unreachable from addresses it has not sent to. */
  natted?: boolean;
}

type LabNode = NodeAssembly & { metrics: Metrics };

/** One-way delay between two addresses, ms (default 5 everywhere). */
export type LinkDelay = (fromAddr: string, toAddr: string) => number;

export function natLab(seed: number, opts: { linkMs?: LinkDelay } = {}) {
  const linkMs: LinkDelay = opts.linkMs ?? (() => 5);
  const keys = seededKeypairs(seed);
  const clock = new ManualClock(1_000);
  const natted = new Set<string>();
  /** addr → addresses it has sent to (its NAT lets their packets in). */
  const sentTo = new Map<string, Set<string>>();
  const note = (from: string, to: string): void => {
    let s = sentTo.get(from);
    if (s === undefined) sentTo.set(from, (s = new Set()));
    s.add(to);
  };
  const passes = (from: string, to: string): boolean => {
    note(from, to);
    return !natted.has(to) || (sentTo.get(to)?.has(from) ?? false);
  };
  const net = new MemoryNetwork({ clock, rng: new SeededRng(seed), latencyMs: linkMs, defaultTimeoutMs: 1_000, filter: passes });
  const raw = new Map<string, RawHandler>();
  const rawSent: { from: string; to: string }[] = [];
  let dropRaw = false;

  const make = (opts: NatLabNodeOptions = {}): LabNode => {
    const kp = keys.next();
    const base = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
    if (opts.natted) natted.add(base.localAddr);
    const transport = withCapabilities(base, {
      rawDatagrams: {
        sendRawDatagram(bytes: Uint8Array, host: string, port: number) {
          const from = base.localAddr;
          const to = `${host}:${port}`;
          rawSent.push({ from, to });
          if (dropRaw || !passes(from, to)) return;
          const copy = Uint8Array.from(bytes);
          const [fh, fp] = from.split(':');
          clock.setTimer(linkMs(from, to), () => raw.get(to)?.(copy, { host: fh!, port: Number(fp) }));
        },
        onRawDatagram(cb: RawHandler) {
          raw.set(base.localAddr, cb);
          return () => raw.delete(base.localAddr);
        },
      },
    });
    const metrics = opts.metrics ?? noopMetrics;
    const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics };
    const { metrics: _m, natted: _n, ...rest } = opts;
    return Object.assign(createNode({ keypair: kp, transport, components, pubsub: false, ...rest }), { metrics });
  };

  /** A relay, and one node per entry that keeps a link to it (natted unless said otherwise). */
  const withRelay = async <const T extends readonly NatLabNodeOptions[]>(nodes: T) => {
    const relay = make({ relay: true });
    await relay.start();
    const relays = [relay.meshNode.contact.addr];
    const made = nodes.map((o) => make({ relays, natted: true, ...o }));
    for (const n of made) await n.start();
    await settle(clock, Promise.all(made.map((n) => n.services.relayLink?.keepAlive())));
    const stop = (): Promise<unknown> => Promise.all([...made, relay].map((n) => n.stop()));
    return { relay, nodes: made as { [K in keyof T]: LabNode }, stop };
  };

  return {
    clock,
    net,
    make,
    withRelay,
    rawSent,
    dropRaw: (v: boolean) => (dropRaw = v),
    nextKeypair: () => keys.next(),
    /** Let `ms` of virtual time pass. */
    wait: (ms: number) => settle(clock, new Promise((r) => clock.setTimer(ms, () => r(undefined)))),
  };
}
