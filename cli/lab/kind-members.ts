/**
 * What `quicmesh-lab test` needs to probe a lab holding command nodes (node kinds, issue 14): the topology's
 * quicmesh part (waited for through /status as before), every node as a probe member, the ids probes use,
 * and one ConnectFn that sends each probe the right way — POST /connect from a quicmesh node, the `probe:`
 * command in a command node.
 */
import type { LabRuntime } from '../runtime/index.js';
import type { ResolvedTopology } from '../topology/model.js';
import {
  commandConnect,
  isCommandMember,
  probeIdsNeeded,
  readIds,
  type LabMember,
  type ProbeError,
} from './command-probe.js';
import type { MeshMember } from './mesh-ready.js';
import { disconnectPair, type ConnectFn } from './run-expectations.js';

/** The quicmesh nodes of a topology only: what waitForMesh waits for. */
export function quicmeshPart(topology: ResolvedTopology): ResolvedTopology {
  return { ...topology, nodes: topology.nodes.filter((n) => !n.program) };
}

export function hasCommandNodes(topology: ResolvedTopology): boolean {
  return topology.nodes.some((n) => n.program);
}

export interface KindProbes {
  members: Map<string, LabMember>;
  connect: ConnectFn<LabMember>;
  /** Before every cold probe: close what the two nodes hold to each other (quicmesh nodes only). */
  disconnect(a: LabMember, b: LabMember): Promise<void>;
}

export async function kindProbes(
  runtime: LabRuntime,
  topology: ResolvedTopology,
  mesh: ReadonlyMap<string, MeshMember>,
  quicmeshConnect: ConnectFn,
  opts: { readyTimeoutMs: number; signal?: AbortSignal; onBadInput(err: ProbeError): void },
): Promise<KindProbes> {
  const members = new Map<string, LabMember>(mesh);
  for (const node of topology.nodes) if (node.program) members.set(node.name, { name: node.name, node });
  const ids = new Map<string, string>([...mesh].map(([name, m]) => [name, m.nodeId]));
  if (probeIdsNeeded(topology)) {
    const commandNodes = topology.nodes.filter((n) => n.program).map((n) => n.name);
    for (const [name, id] of await readIds(runtime, topology.name, commandNodes, {
      timeoutMs: opts.readyTimeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    })) {
      ids.set(name, id);
    }
  }
  const command = commandConnect(runtime, topology, ids, opts.onBadInput);
  return {
    members,
    connect: (from, to, o) =>
      isCommandMember(from) ? command(from, to, o) : quicmeshConnect(from, to as MeshMember, o),
    disconnect: async (a, b) => {
      if (!isCommandMember(a) && !isCommandMember(b)) await disconnectPair(a, b);
    },
  };
}
