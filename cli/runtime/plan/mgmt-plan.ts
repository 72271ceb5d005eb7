/**
 * The management network as `ip -batch` lines, on every backend: a bridge in the root namespace holding the
 * gateway address, one veth per host (mgmt0 inside), bridge ports isolated from each other so hosts cannot
 * use it to reach one another. No default route through it (a host's default route is its data link). Pure.
 */
import type { LabPlan } from './lab-plan.js';
import { IF, mgmtVethName } from '../names.js';

export interface MgmtLines {
  /** Root-namespace lines. */
  root: string[];
  /** Lines per host namespace. */
  inNs: Map<string, string[]>;
  /** Interfaces made in the root namespace (for the state, so `down` removes them). */
  rootLinks: string[];
}

export function mgmtLines(lab: string, mgmt: NonNullable<LabPlan['mgmt']>): MgmtLines {
  const root = [`link add ${mgmt.bridge} type bridge`, `addr add ${mgmt.gateway}/24 dev ${mgmt.bridge}`, `link set ${mgmt.bridge} up`];
  const inNs = new Map<string, string[]>();
  const rootLinks = [mgmt.bridge];
  for (const h of mgmt.hosts) {
    const veth = mgmtVethName(lab, h.index);
    rootLinks.push(veth);
    root.push(
      `link add ${veth} type veth peer name ${IF.mgmt} netns ${h.namespace}`,
      `link set ${veth} master ${mgmt.bridge}`,
      `link set ${veth} type bridge_slave isolated on`,
      `link set ${veth} up`,
    );
    inNs.set(h.namespace, [`addr add ${h.address}/24 dev ${IF.mgmt}`, `link set ${IF.mgmt} up`]);
  }
  return { root, inNs, rootLinks };
}
