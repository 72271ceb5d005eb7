/**
 * Semantic checks that the schema cannot express: subnets (valid, big enough, overlapping only where
 * routing stays unambiguous), references between sections, NAT stacking (one router per LAN, no loops,
 * cgnat upstream of another router),
 * unique names, link and expectation targets. Pure: a schema-valid file in, a list of issues out
 * (paths, no lines — parse.ts adds those).
 */
import type { PathSegment } from './errors.js';
import { expandNodeRef, nodeNames, type NodeNames } from './names.js';
import {
  CGNAT_SPACE,
  cidrWithin,
  cidrsOverlap,
  formatCidr,
  parseCidr,
  usableHosts,
  type Cidr,
} from './ipv4.js';
import type { TopologyFile } from './schema.js';
import { parseDurationMs, parsePercent, parseRateKbit } from './units.js';
import { expectEntryText, parseExpectLine } from './expect.js';
import { checkKinds } from './kinds.js';
import { resolveScenario } from './scenario.js';
import { CARRIER_PRESETS, isCarrierPreset } from '../../src/nat/nat-presets.js';

export interface CheckIssue {
  path: PathSegment[];
  message: string;
}

function list(names: Iterable<string>): string {
  const all = [...names];
  return all.length === 0 ? 'none defined' : all.join(', ');
}

export function checkTopology(file: TopologyFile): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const report = (path: PathSegment[], message: string): void => {
    issues.push({ path, message });
  };
  const subnets = checkNetworks(file, report);
  checkRouters(file, subnets, report);
  checkOverlaps(file, subnets, report);
  const names = nodeNames(file);
  checkNames(file, names, report);
  checkNodes(file, names, report);
  checkCapacity(file, subnets, report);
  checkLinks(file, names, report);
  checkExpectations(file, names, report);
  checkKinds(file, names, report); // node kinds (issue 14)
  for (const issue of resolveScenario(file, names).issues) report(issue.path, issue.message); // scenario (issue 13)
  return issues;
}

type Report = (path: PathSegment[], message: string) => void;

function checkNetworks(file: TopologyFile, report: Report): Map<string, Cidr> {
  const subnets = new Map<string, Cidr>();
  for (const [name, network] of Object.entries(file.networks)) {
    const parsed = parseCidr(network.subnet);
    if (!parsed.ok) {
      report(['networks', name, 'subnet'], parsed.message);
      continue;
    }
    if (usableHosts(parsed.cidr) === 0) {
      report(
        ['networks', name, 'subnet'],
        `/${parsed.cidr.prefix} leaves no room for hosts; use /30 or shorter`,
      );
      continue;
    }
    if (cidrsOverlap(parsed.cidr, MGMT_SPACE)) {
      report(
        ['networks', name, 'subnet'],
        `${network.subnet} overlaps ${formatCidr(MGMT_SPACE)}, which the lab keeps for its management network`,
      );
    }
    subnets.set(name, parsed.cidr);
  }
  return subnets;
}

/** The lab's management networks (cli/runtime/mgmt-claim.ts) come from here: no lab network may use it. */
const MGMT_SPACE: Cidr = { base: 172 * 2 ** 24 + 31 * 2 ** 16, prefix: 16 };

/** The networks between a network and the public segment (its router's WAN, that router's WAN, …). */
function upstreamOf(file: TopologyFile, network: string): string[] {
  const routerOfLan = new Map(Object.entries(file.routers ?? {}).map(([, r]) => [r.lan, r] as const));
  const path: string[] = [];
  for (let r = routerOfLan.get(network); r && !path.includes(r.wan); r = routerOfLan.get(r.wan)) path.push(r.wan);
  return path;
}

/**
 * Overlapping subnets are allowed where routing stays unambiguous: two LANs behind different routers
 * (real homes all use 192.168.1.0/24), as long as neither lies on the other's way to the public segment.
 * A public segment is routed everywhere, so it overlaps nothing.
 */
function checkOverlaps(file: TopologyFile, subnets: Map<string, Cidr>, report: Report): void {
  const seen: Array<[string, Cidr]> = [];
  for (const [name, cidr] of subnets) {
    const kind = file.networks[name]?.kind;
    for (const [other, otherCidr] of seen) {
      if (!cidrsOverlap(cidr, otherCidr)) continue;
      const both = `${formatCidr(cidr)} overlaps networks.${other} (${formatCidr(otherCidr)})`;
      if (kind !== 'lan' || file.networks[other]?.kind !== 'lan') {
        report(['networks', name, 'subnet'], `${both}; a public network may overlap no other (only LANs behind different routers may share addresses)`);
      } else if (upstreamOf(file, name).includes(other) || upstreamOf(file, other).includes(name)) {
        report(['networks', name, 'subnet'], `${both}, which lies between it and the public network: routing there would be ambiguous`);
      }
    }
    seen.push([name, cidr]);
  }
}

function checkTimeout(text: string | undefined, path: PathSegment[], report: Report): void {
  if (text === undefined) return;
  const ms = parseDurationMs(text);
  if (ms === null || ms < 1000 || ms % 1000 !== 0)
    report(path, `"${text}" is not a whole number of seconds (at least 1s)`);
}

function checkRouters(file: TopologyFile, subnets: Map<string, Cidr>, report: Report): void {
  const routers = Object.entries(file.routers ?? {});
  const networkNames = Object.keys(file.networks);
  const routerOfLan = new Map<string, string>();
  checkTimeout(file.defaults?.router?.mappingTimeout, ['defaults', 'router', 'mappingTimeout'], report);

  for (const [name, router] of routers) {
    const at = (key: string): PathSegment[] => ['routers', name, key];
    const wan = file.networks[router.wan];
    const lan = file.networks[router.lan];
    if (!wan) report(at('wan'), `no network named "${router.wan}" (networks: ${list(networkNames)})`);
    if (!lan) report(at('lan'), `no network named "${router.lan}" (networks: ${list(networkNames)})`);
    if (router.wan === router.lan) {
      report(at('lan'), `"${router.lan}" is this router's WAN too; a router joins two different networks`);
    } else if (lan?.kind === 'public') {
      report(
        at('lan'),
        `"${router.lan}" is a public network; a router's LAN side must be a network of kind lan`,
      );
    } else if (lan) {
      const first = routerOfLan.get(router.lan);
      if (first !== undefined) {
        report(at('lan'), `LAN "${router.lan}" already has router ${first}; a LAN has exactly one router`);
      } else {
        routerOfLan.set(router.lan, name);
      }
    }
    if (router.behaviour !== undefined && !isCarrierPreset(router.nat)) {
      report(at('behaviour'), `only a ${CARRIER_PRESETS.join(' or ')} router takes a behaviour (this one is nat: ${router.nat})`);
    }
    checkTimeout(router.mappingTimeout, at('mappingTimeout'), report);
    if (isCarrierPreset(router.nat) && router.wan !== router.lan) {
      const lanCidr = subnets.get(router.lan);
      if (lanCidr && !cidrWithin(lanCidr, CGNAT_SPACE)) {
        report(
          at('lan'),
          `a ${router.nat} router's LAN must lie in ${formatCidr(CGNAT_SPACE)} (shared address space), not ${formatCidr(lanCidr)}`,
        );
      }
      if (!routers.some(([other, r]) => other !== name && r.wan === router.lan)) {
        report(
          at('nat'),
          `a ${router.nat} router must sit upstream of another router, but no router has wan: ${router.lan}`,
        );
      }
    }
  }

  for (const [name, network] of Object.entries(file.networks)) {
    if (network.kind === 'lan' && !routerOfLan.has(name)) {
      report(
        ['networks', name],
        `LAN "${name}" has no router (add a router with lan: ${name}, or make it kind: public)`,
      );
    }
  }

  // Stacking loops: follow each router's WAN to the router serving that network as its LAN.
  const reported = new Set<string>();
  for (const [name] of routers) {
    const chain = [name];
    let current = file.routers?.[name];
    while (current) {
      const upstream = routerOfLan.get(current.wan);
      if (upstream === undefined) break;
      if (chain.includes(upstream)) {
        const loop = chain.slice(chain.indexOf(upstream));
        if (!loop.some((r) => reported.has(r))) {
          loop.forEach((r) => reported.add(r));
          report(
            ['routers', loop[0] as string, 'wan'],
            `NAT stacking loops: ${[...loop, upstream].join(' -> ')}`,
          );
        }
        break;
      }
      chain.push(upstream);
      current = file.routers?.[upstream];
    }
  }
}

function checkNames(file: TopologyFile, names: NodeNames, report: Report): void {
  const owner = new Map<string, string>();
  for (const name of Object.keys(file.routers ?? {})) owner.set(name, `routers.${name}`);
  for (const [group, replicas] of names.replicas) {
    const claimed = new Set([group, ...replicas]);
    for (const name of claimed) {
      const first = owner.get(name);
      if (first !== undefined && first !== `nodes.${group}`) {
        const what = name === group ? `the name "${name}"` : `replica name "${name}"`;
        report(['nodes', group], `${what} is already used by ${first}`);
      } else {
        owner.set(name, `nodes.${group}`);
      }
    }
  }
}

function checkNodes(file: TopologyFile, names: NodeNames, report: Report): void {
  const networkNames = Object.keys(file.networks);
  for (const [group, config] of Object.entries(file.nodes)) {
    if (!file.networks[config.network]) {
      report(
        ['nodes', group, 'network'],
        `no network named "${config.network}" (networks: ${list(networkNames)})`,
      );
    }
    const replicas = names.replicas.get(group) ?? [];
    for (const key of Object.keys(config.replicas ?? {})) {
      if (!replicas.includes(key)) {
        const range = replicas.length === 1 ? group : `${replicas[0]}..${replicas[replicas.length - 1]}`;
        report(
          ['nodes', group, 'replicas', key],
          `"${key}" is not a replica of ${group} (its replicas: ${range})`,
        );
      }
    }
  }
}

function checkCapacity(file: TopologyFile, subnets: Map<string, Cidr>, report: Report): void {
  const needed = new Map<string, number>();
  const add = (network: string, n: number): void => {
    needed.set(network, (needed.get(network) ?? 0) + n);
  };
  for (const router of Object.values(file.routers ?? {})) {
    if (router.wan === router.lan) continue;
    add(router.wan, 1);
    add(router.lan, 1);
  }
  for (const group of Object.values(file.nodes)) add(group.network, group.count ?? 1);
  for (const [name, cidr] of subnets) {
    const n = needed.get(name) ?? 0;
    if (n > usableHosts(cidr)) {
      report(
        ['networks', name, 'subnet'],
        `${formatCidr(cidr)} has room for ${usableHosts(cidr)} hosts but ${n} need an address`,
      );
    }
  }
}

function checkShaping(
  values: { loss?: string | undefined; rate?: string | undefined },
  path: PathSegment[],
  report: Report,
): void {
  const loss = values.loss === undefined ? null : parsePercent(values.loss);
  if (loss !== null && loss > 100) report([...path, 'loss'], `${values.loss} is more than 100%`);
  const rate = values.rate === undefined ? null : parseRateKbit(values.rate);
  if (rate !== null && rate > 0 && rate < 1)
    report([...path, 'rate'], `${values.rate} is below the smallest rate, 1kbit`);
}

/** Delay varies within ±jitter, and a packet cannot leave before it was sent: jitter ≤ delay. */
function checkJitter(
  layers: ({ delay?: string | undefined; jitter?: string | undefined } | undefined)[],
  path: PathSegment[],
  report: Report,
): void {
  const pick = (key: 'delay' | 'jitter'): string => layers.find((l) => l?.[key] !== undefined)?.[key] ?? '0';
  const delay = parseDurationMs(pick('delay'));
  const jitter = parseDurationMs(pick('jitter'));
  if (delay !== null && jitter !== null && jitter > delay) {
    report(
      [...path, 'jitter'],
      `jitter ${pick('jitter')} exceeds delay ${pick('delay')}; the delay varies within ±jitter`,
    );
  }
}

function checkLinks(file: TopologyFile, names: NodeNames, report: Report): void {
  if (file.defaults?.link) checkShaping(file.defaults.link, ['defaults', 'link'], report);
  const networkNames = Object.keys(file.networks);
  const networkEntry = new Map<string, number>();
  const nodeEntry = new Map<string, number>();
  const defaults = file.defaults?.link;
  if (defaults) checkJitter([defaults], ['defaults', 'link'], report);
  (file.links ?? []).forEach((link, i) => {
    checkShaping(link, ['links', i], report);
    const networkWide =
      link.node === undefined
        ? undefined
        : file.links?.find((l) => l.network === link.network && l.node === undefined);
    checkJitter([link, networkWide, defaults], ['links', i], report);
    if (!file.networks[link.network]) {
      report(['links', i, 'network'], `no network named "${link.network}" (networks: ${list(networkNames)})`);
      return;
    }
    if (link.node === undefined) {
      const first = networkEntry.get(link.network);
      if (first !== undefined)
        report(['links', i, 'network'], `network ${link.network} is already shaped by links[${first}]`);
      else networkEntry.set(link.network, i);
      return;
    }
    const targets = expandNodeRef(names, link.node);
    if (targets.length === 0) {
      report(['links', i, 'node'], `no node or node group named "${link.node}"`);
      return;
    }
    const group = names.groupOf.get(targets[0] as string) as string;
    const where = file.nodes[group]?.network;
    if (where !== link.network) {
      report(['links', i, 'node'], `${link.node} is on network ${where}, not ${link.network}`);
      return;
    }
    for (const target of targets) {
      const first = nodeEntry.get(target);
      if (first !== undefined)
        report(['links', i, 'node'], `node ${target} is already shaped by links[${first}]`);
      else nodeEntry.set(target, i);
    }
  });
}

function checkExpectations(file: TopologyFile, names: NodeNames, report: Report): void {
  const seen = new Map<string, number>();
  const known = list(names.replicas.keys());
  (file.expect ?? []).forEach((entry, i) => {
    const parsed = parseExpectLine(expectEntryText(entry));
    if (!parsed.ok) {
      report(['expect', i], parsed.message);
      return;
    }
    const { from, to } = parsed.line;
    const froms = expandNodeRef(names, from);
    const tos = expandNodeRef(names, to);
    if (froms.length === 0) report(['expect', i], `unknown node "${from}" (node groups: ${known})`);
    if (tos.length === 0) report(['expect', i], `unknown node "${to}" (node groups: ${known})`);
    if (froms.length === 0 || tos.length === 0) return;
    let pairs = 0;
    for (const a of froms) {
      for (const b of tos) {
        if (a === b) continue;
        pairs++;
        const key = `${a} -> ${b}`;
        const first = seen.get(key);
        if (first !== undefined) report(['expect', i], `${key} is already expected by expect[${first}]`);
        else seen.set(key, i);
      }
    }
    if (pairs === 0) report(['expect', i], `expects nothing: ${from} and ${to} are the same node`);
  });
}
