/**
 * A behavioural model of one NAT box, named the way RFC 4787 names behaviour: a mapping rule
 * (endpoint-independent, address-dependent, address-and-port-dependent) and a filtering rule
 * (the same three). It translates outbound packets and filters inbound ones, nothing more — the
 * unit tests drive NAT detection and hole punching through it, and a simulator can reuse it.
 *
 * A preset's box comes from the preset table (nat-presets.ts): `natBoxFor`. Like the lab's
 * nftables presets, an inbound packet with no mapping is dropped (no port forwarding), a
 * mapping's permissions are what its inside host has sent to, and a reply to a packet let in
 * leaves through the mapping that packet came in on (conntrack's reply direction) — which differs
 * from a new mapping only when the mapping depends on the destination and the filter let in a
 * source the inside never sent to.
 */
import type { Rng } from '../core/rng.js';
import { ConfigError } from '../errors.js';
import { joinAddr, splitAddr } from './addr.js';
import { natPresetBehaviour, type NatBehaviourSpec, type NatPresetName } from './nat-presets.js';

interface Mapping {
  inside: string;
  publicPort: number;
  /** Remote hosts (ADF) or host:port (APDF) the inside has sent to through this mapping. */
  permits: Set<string>;
}

export interface NatBoxOptions {
  /** First public port handed out (sequential unless `rng` is given). Default 40000. */
  firstPort?: number;
  /** When set, public ports are drawn at random (like `masquerade random`). */
  rng?: Rng;
  /** Deliver inside→own-public-address traffic back inside (hairpinning). Default false. */
  hairpin?: boolean;
}

export class NatBox {
  private readonly byKey = new Map<string, Mapping>();
  private readonly byPort = new Map<number, Mapping>();
  /** "inside|remote" → the mapping a packet from remote came in on: replies go out through it. */
  private readonly replies = new Map<string, Mapping>();
  private nextPort: number;

  constructor(
    readonly publicHost: string,
    readonly behaviour: NatBehaviourSpec,
    private readonly opts: NatBoxOptions = {},
  ) {
    this.nextPort = opts.firstPort ?? 40000;
    if (!Number.isInteger(this.nextPort) || this.nextPort < 1 || this.nextPort > 65535) {
      throw new ConfigError(`NatBox.firstPort must be 1..65535, got ${this.nextPort}`);
    }
  }

  get hairpin(): boolean {
    return this.opts.hairpin ?? false;
  }

  /** Translate a packet from `inside` to `dst`: returns the public source address it leaves with. */
  outbound(inside: string, dst: string): string {
    const d = splitAddr(dst);
    const key = this.mappingKey(inside, d.host, d.port);
    let m = this.replies.get(`${inside}|${joinAddr(d.host, d.port)}`) ?? this.byKey.get(key);
    if (m === undefined) {
      m = { inside, publicPort: this.allocatePort(), permits: new Set() };
      this.byKey.set(key, m);
      this.byPort.set(m.publicPort, m);
    }
    m.permits.add(this.permitKey(d.host, d.port));
    return joinAddr(this.publicHost, m.publicPort);
  }

  /** Filter a packet from `from` to our public `to`: the inside address it goes to, or null (dropped). */
  inbound(from: string, to: string): string | null {
    const t = splitAddr(to);
    if (t.host !== this.publicHost) return null;
    const m = this.byPort.get(t.port);
    if (m === undefined) return null;
    const f = splitAddr(from);
    if (this.behaviour.filtering !== 'endpoint-independent' && !m.permits.has(this.permitKey(f.host, f.port))) return null;
    this.replies.set(`${m.inside}|${joinAddr(f.host, f.port)}`, m);
    return m.inside;
  }

  /** Number of live mappings (tests: a symmetric NAT makes one per destination). */
  get mappingCount(): number {
    return this.byKey.size;
  }

  private mappingKey(inside: string, host: string, port: number): string {
    switch (this.behaviour.mapping) {
      case 'endpoint-independent':
        return inside;
      case 'address-dependent':
        return `${inside}|${host}`;
      case 'address-and-port-dependent':
        return `${inside}|${joinAddr(host, port)}`;
    }
  }

  private permitKey(host: string, port: number): string {
    return this.behaviour.filtering === 'address-dependent' ? host : joinAddr(host, port);
  }

  private allocatePort(): number {
    for (let tries = 0; tries < 65536; tries++) {
      const p = this.opts.rng ? 1024 + this.opts.rng.int(64512) : this.nextPort++;
      if (this.nextPort > 65535) this.nextPort = 1024;
      if (!this.byPort.has(p)) return p;
    }
    throw new ConfigError('NatBox: public ports exhausted');
  }
}

/** A NatBox behaving as `preset` (a carrier preset: as its default), or null for `none`. */
export function natBoxFor(preset: NatPresetName, publicHost: string, opts?: NatBoxOptions): NatBox | null {
  const behaviour = natPresetBehaviour(preset);
  return behaviour === null ? null : new NatBox(publicHost, behaviour, opts);
}
