/**
 * The resolved topology: what a lab backend builds. Produced by the pure `resolveTopology`
 * (cli/topology/resolve.ts) from a validated YAML file — defaults < group < node already applied,
 * replicas expanded, every address assigned — so backends never look at raw YAML.
 */

import type { NatBehaviourSpec, NatPresetName, NatRule } from '../../src/nat/nat-presets.js';

/** RFC 4787 behaviours (the preset table, src/nat/nat-presets.ts, says which each preset has). */
export type MappingBehaviour = NatRule;
/** RFC 4787 filtering behaviour of a NAT. */
export type FilteringBehaviour = NatRule;
/** A NAT's RFC 4787 mapping and filtering behaviour. */
export type NatBehaviour = NatBehaviourSpec;
/** Preset names accepted in a topology file: the rows of the preset table. */
export type { NatPresetName };

/** A public (routed, no NAT) or a LAN (behind one router) network. */
export type NetworkKind = 'public' | 'lan';

/** A network segment of a resolved topology. */
export interface ResolvedNetwork {
  name: string;
  kind: NetworkKind;
  /** IPv4 CIDR, e.g. "203.0.113.0/24". */
  subnet: string;
}

/** One side (WAN or LAN) of a router: its network and address. */
export interface RouterSide {
  network: string;
  /** The router's own address on that network. */
  address: string;
}

/** A NAT router of a resolved topology: its preset, behaviour and both sides. */
export interface ResolvedRouter {
  name: string;
  preset: NatPresetName;
  /** null for preset 'none' (plain forwarding). */
  nat: NatBehaviour | null;
  wan: RouterSide;
  lan: RouterSide;
  hairpin: boolean;
  /** UDP mapping lifetime (conntrack timeout) in seconds. */
  mappingTimeoutS: number;
  /** For routers whose WAN is another router's LAN (CGNAT stacking): that router's name. */
  upstreamRouter: string | null;
}

/** A node's role: bootstrap (others join through it), relay, or plain. */
export type NodeRole = 'bootstrap' | 'relay' | 'plain';

/** A node of a resolved topology: its network, address, port, role and arguments. */
export interface ResolvedNode {
  /** Unique name; replicas of a group `alice` with count 3 are alice-1, alice-2, alice-3. */
  name: string;
  /** The group (YAML key) this node came from. */
  group: string;
  network: string;
  address: string;
  /** The next hop off its network: the LAN router's address, or null on a public segment. */
  gateway: string | null;
  role: NodeRole;
  /** UDP port the node listens on. */
  port: number;
  /** Extra arguments passed to `quicmesh node` (a command node: already appended to its command). */
  args: string[];
  /** What a command node runs (kind: command or a named kind); absent for a quicmesh node. */
  program?: ResolvedProgram;
}

// ---- node kinds (issue 14) ----

/** What a node runs: the quicmesh node, or a program (command kinds). */
export type NodeKind = 'quicmesh' | 'command';

/**
 * How the lab knows a command node is up: a UDP or TCP port bound in the node, an HTTP URL answering 2xx
 * (fetched inside the node), or a command run in the node that exits 0. Ports and URLs are templates.
 */
export type ResolvedReady = (
  | { check: 'udp' | 'tcp'; port: string }
  | { check: 'http'; url: string }
  | { check: 'command'; argv: string[] }
) & {
  /** ms; null = the lab's ready timeout. */
  timeoutMs: number | null;
};

/** A command node's program. Strings are templates the lab fills in (cli/topology/templates.ts). */
export interface ResolvedProgram {
  /** "command" for a program given inline, else the name of its `kinds:` entry or stack. */
  kind: string;
  /** argv, the group's `args` appended. */
  command: string[];
  env: Record<string, string>;
  /** null: up as soon as its process runs. */
  ready: ResolvedReady | null;
  /** argv run in this node to connect to another; null: no expectation may start here. */
  probe: string[] | null;
  /** docker backend: a local image to run it in; null = the lab's node image. */
  image: string | null;
  /** Absolute directory of the file that defined the program: `{{dir}}` (mounted read-only on docker). */
  dir: string;
}

/** A node's kind. */
export function nodeKind(node: Pick<ResolvedNode, 'program'>): NodeKind {
  return node.program ? 'command' : 'quicmesh';
}

/**
 * Link shaping applied to one network segment (every interface on it), or to one node's interface.
 * A node entry is complete (it already inherits what it leaves out from its network's entry and the defaults)
 * and replaces the network entry on that node's interface. Entries whose values are all zero are left out,
 * except node entries, which may exist precisely to exempt a node from its network's shaping.
 */
export interface ResolvedLink {
  network: string;
  /** When set, shaping applies only to this node's interface (a ResolvedNode name). */
  node: string | null;
  delayMs: number;
  jitterMs: number;
  /** Percent, 0..100. */
  lossPct: number;
  /** kbit/s; 0 = unlimited. */
  rateKbit: number;
}

/**
 * The path an expectation asks for. `direct` means "not relayed" (dialled directly or hole-punched);
 * `hole-punched` and `relayed` ask for exactly that; `any` only asks for a connection.
 */
export type PathKind = 'any' | 'direct' | 'hole-punched' | 'relayed';

/** One expectation of a topology: a pair of nodes, the path kind and a time bound. */
export interface Expectation {
  /**
   * One pair, for reports: canonical and unique within a topology, e.g. "alice-1 -> bob: direct within 2000ms"
   * (group names already expanded; the path is always spelled out).
   */
  text: string;
  /** The line as written in the file ("alice -> bob: direct"); several expectations share it when it names groups. */
  source: string;
  from: string;
  to: string;
  path: PathKind;
  /** Time-to-connect bound, ms; null = none. */
  withinMs: number | null;
  /** 1-based line in the topology file. */
  line: number;
}

/** A topology file resolved: defaults applied, replicas expanded, every address assigned. */
export interface ResolvedTopology {
  name: string;
  /** The file it came from, for messages. */
  sourceFile: string;
  networks: ResolvedNetwork[];
  routers: ResolvedRouter[];
  nodes: ResolvedNode[];
  links: ResolvedLink[];
  expectations: Expectation[];
  /** Timed faults and checks (`scenario:`), in file order; absent or empty when the file has none. */
  scenario?: ScenarioStep[];
}

// ---- scenario (issue 13): timed faults and checks, resolved by scenario.ts -----------------------

/** What a scenario step does to the lab. Node lists are expanded (a group is its replicas). */
export type ScenarioAction =
  | { kind: 'stop' | 'start' | 'restart'; nodes: string[] }
  | {
      kind: 'churn';
      nodes: string[];
      /** Percent of `nodes` churned each round (at least one node). */
      fraction: number;
      everyMs: number;
      forMs: number;
      /** How long a churned node stays stopped; 0: restarted at once. */
      downMs: number;
      seed: number;
    }
  | {
      kind: 'link-set';
      network: string;
      node: string | null;
      delayMs?: number;
      jitterMs?: number;
      lossPct?: number;
      rateKbit?: number;
    }
  | { kind: 'link-down' | 'link-up'; network: string; node: string | null }
  | { kind: 'partition'; sides: [string[], string[]] }
  | { kind: 'heal' }
  | { kind: 'nat-reset'; router: string }
  | { kind: 'move'; node: string; network: string; address: string | null };

/** What a scenario step checks. */
export type ScenarioCheck =
  | {
      kind: 'expect';
      /** The line as written. */
      source: string;
      pairs: Array<{ from: string; to: string }>;
      path: PathKind;
      /** Bound on the lookup plus the connect, ms; null: the connect timeout only. */
      withinMs: number | null;
    }
  | { kind: 'stream'; from: string; to: string; untilMs: number; maxStallMs: number | null }
  | {
      kind: 'all-pairs';
      among: string[];
      /** 'expected': the path the topology's expectations give each pair ('any' where they give none). */
      path: PathKind | 'expected';
      sample: number | null;
      withinMs: number | null;
      /** Nodes started less than this before the check are not paired, ms. */
      settleMs: number;
    };

/** One scenario step as written (a repeated step or a churn is expanded by the lab's timeline planner). */
export interface ScenarioStep {
  /** Position in the file's scenario list, and its line. */
  index: number;
  line: number;
  atMs: number;
  /** Repeat every `everyMs` up to `untilMs` (null: once). */
  everyMs: number | null;
  untilMs: number | null;
  /** The step in one line, e.g. "restart bob", "expect alice-1 -> bob: direct within 2000ms". */
  text: string;
  action?: ScenarioAction;
  check?: ScenarioCheck;
}
