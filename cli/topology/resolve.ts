/**
 * Defaults resolution: the one pure function that turns a schema-valid topology file into the
 * ResolvedTopology backends build. Settings flow defaults < group < replica; groups expand to replicas;
 * addresses are assigned deterministically per network, in this order:
 *   1. each router takes host .1 on its LAN;
 *   2. routers take the next free addresses on their WAN network, in file order;
 *   3. nodes take the next free addresses on their network, in file order (group, then replica).
 * It runs the semantic checks first and throws TopologyError when they fail.
 */
import { checkTopology } from './check.js';
import { TopologyError, formatPath, type PathSegment, type TopologyIssue } from './errors.js';
import { expandNodeRef, nodeNames, replicaNames } from './names.js';
import { hostAddress, parseCidr, type Cidr } from './ipv4.js';
import type {
  Expectation,
  ResolvedLink,
  ResolvedNetwork,
  ResolvedNode,
  ResolvedRouter,
  ResolvedTopology,
} from './model.js';
import { natPresetBehaviour } from '../../src/nat/nat-presets.js';
import type { LinkConfig, TopologyFile } from './schema.js';
import { parseDurationMs, parsePercent, parseRateKbit } from './units.js';
import { expectEntryText, expectationText, parseExpectLine } from './expect.js';
import { resolveProgram } from './kinds.js';
import { resolveScenario } from './scenario.js';

export const DEFAULT_PORT = 4433;
export const DEFAULT_MAPPING_TIMEOUT = '30s';

export interface ResolveOptions {
  /** The file name used in messages and kept as ResolvedTopology.sourceFile. */
  sourceFile: string;
  /** The 1-based line of a YAML path (for messages and Expectation.line); lines are 0 without it. */
  lineOf?: (path: readonly PathSegment[]) => number;
  /** `{{dir}}` of a kind defined outside the file (a stack file's directory), by kind name. */
  kindDirs?: Readonly<Record<string, string>>;
}

export function resolveTopology(file: TopologyFile, options: ResolveOptions): ResolvedTopology {
  const lineOf = options.lineOf ?? (() => 0);
  const problems = checkTopology(file);
  if (problems.length > 0) {
    const issues: TopologyIssue[] = problems.map((p) => ({
      file: options.sourceFile,
      line: lineOf(p.path),
      path: formatPath(p.path),
      message: p.message,
    }));
    throw new TopologyError(issues);
  }

  const subnets = new Map<string, Cidr>();
  const networks: ResolvedNetwork[] = Object.entries(file.networks).map(([name, n]) => {
    const parsed = parseCidr(n.subnet);
    if (!parsed.ok) throw new Error(`unreachable: checked subnet ${n.subnet}`);
    subnets.set(name, parsed.cidr);
    return { name, kind: n.kind, subnet: n.subnet };
  });

  // Next host number per network; a network served by a router starts after the router's .1.
  const nextHost = new Map<string, number>(networks.map((n) => [n.name, 1]));
  const routerEntries = Object.entries(file.routers ?? {});
  for (const [, r] of routerEntries) nextHost.set(r.lan, 2);
  const allocate = (network: string): string => {
    const n = nextHost.get(network) as number;
    nextHost.set(network, n + 1);
    return hostAddress(subnets.get(network) as Cidr, n);
  };

  const routerOfLan = new Map(routerEntries.map(([name, r]) => [r.lan, name]));
  const routerDefaults = file.defaults?.router;
  const routers: ResolvedRouter[] = routerEntries.map(([name, r]) => ({
    name,
    preset: r.nat,
    nat: natPresetBehaviour(r.nat, r.behaviour),
    wan: { network: r.wan, address: allocate(r.wan) },
    lan: { network: r.lan, address: hostAddress(subnets.get(r.lan) as Cidr, 1) },
    hairpin: r.hairpin ?? routerDefaults?.hairpin ?? false,
    mappingTimeoutS:
      (parseDurationMs(
        r.mappingTimeout ?? routerDefaults?.mappingTimeout ?? DEFAULT_MAPPING_TIMEOUT,
      ) as number) / 1000,
    upstreamRouter: routerOfLan.get(r.wan) ?? null,
  }));
  const lanAddress = new Map(routers.map((r) => [r.lan.network, r.lan.address]));

  const nodeDefaults = file.defaults?.node;
  const nodes: ResolvedNode[] = [];
  for (const [group, g] of Object.entries(file.nodes)) {
    for (const name of replicaNames(group, g.count)) {
      const own = g.replicas?.[name];
      const args = [...(own?.args ?? g.args ?? nodeDefaults?.args ?? [])];
      // node kinds (issue 14): a command node's args go to its program
      const program = resolveProgram(file, group, g, args, { sourceFile: options.sourceFile, dirs: options.kindDirs ?? {} });
      nodes.push({
        name,
        group,
        network: g.network,
        address: allocate(g.network),
        gateway: lanAddress.get(g.network) ?? null,
        role: g.role ?? nodeDefaults?.role ?? 'plain',
        port: own?.port ?? g.port ?? nodeDefaults?.port ?? DEFAULT_PORT,
        args,
        ...(program ? { program } : {}),
      });
    }
  }

  return {
    name: file.name,
    sourceFile: options.sourceFile,
    networks,
    routers,
    nodes,
    links: resolveLinks(file),
    expectations: resolveExpectations(file, lineOf),
    ...(file.scenario?.length ? { scenario: resolveScenario(file, nodeNames(file), lineOf).steps } : {}),
  };
}

type Shaping = Pick<LinkConfig, 'delay' | 'jitter' | 'loss' | 'rate'>;

/** Field by field: the first layer that sets it wins (node entry, then network entry, then defaults). */
function shape(network: string, node: string | null, layers: (Shaping | undefined)[]): ResolvedLink {
  const pick = <K extends keyof Shaping>(key: K): string | undefined =>
    layers.find((l) => l?.[key] !== undefined)?.[key];
  return {
    network,
    node,
    delayMs: parseDurationMs(pick('delay') ?? '0') as number,
    jitterMs: parseDurationMs(pick('jitter') ?? '0') as number,
    lossPct: parsePercent(pick('loss') ?? '0%') as number,
    rateKbit: Math.round(parseRateKbit(pick('rate') ?? '0') as number),
  };
}

function isShaped(link: ResolvedLink): boolean {
  return link.delayMs > 0 || link.jitterMs > 0 || link.lossPct > 0 || link.rateKbit > 0;
}

function resolveLinks(file: TopologyFile): ResolvedLink[] {
  const defaults = file.defaults?.link;
  const entries = file.links ?? [];
  const links: ResolvedLink[] = [];
  for (const network of Object.keys(file.networks)) {
    const entry = entries.find((l) => l.network === network && l.node === undefined);
    const link = shape(network, null, [entry, defaults]);
    if (isShaped(link)) links.push(link);
  }
  const names = nodeNames(file);
  for (const entry of entries) {
    if (entry.node === undefined) continue;
    const networkEntry = entries.find((l) => l.network === entry.network && l.node === undefined);
    for (const node of expandNodeRef(names, entry.node)) {
      links.push(shape(entry.network, node, [entry, networkEntry, defaults]));
    }
  }
  return links;
}

function resolveExpectations(
  file: TopologyFile,
  lineOf: (path: readonly PathSegment[]) => number,
): Expectation[] {
  const names = nodeNames(file);
  const out: Expectation[] = [];
  (file.expect ?? []).forEach((entry, i) => {
    const source = expectEntryText(entry);
    const parsed = parseExpectLine(source);
    if (!parsed.ok) throw new Error(`unreachable: checked expectation ${source}`);
    const { from, to, path, withinMs } = parsed.line;
    for (const a of expandNodeRef(names, from)) {
      for (const b of expandNodeRef(names, to)) {
        if (a === b) continue;
        const line = { from: a, to: b, path, withinMs };
        out.push({ text: expectationText(line), source, ...line, line: lineOf(['expect', i]) });
      }
    }
  });
  return out;
}
