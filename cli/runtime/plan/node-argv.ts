/**
 * The argv of `quicmesh node` for one lab node: its listen address, bootstrap and relay peers from the
 * topology, its management endpoint and key file. Pure; the backend gives the command prefix and the paths
 * as the node process sees them (a host path on netns, a path inside the container on docker).
 */
import type { ResolvedNode, ResolvedTopology } from '../../topology/model.js';
import { IF, METRICS_PORT } from '../names.js';

/** argv of `quicmesh node` for one lab node. Bootstrap nodes get the other bootstrap nodes. */
export function nodeArgv(
  topo: ResolvedTopology,
  node: ResolvedNode,
  opts: { command: string[]; mgmtAddress: string; keyFile: string },
): string[] {
  const boot = topo.nodes
    .filter((n) => n.role === 'bootstrap' && n.name !== node.name)
    .flatMap((n) => ['--bootstrap', `${n.address}:${n.port}`]);
  // A relay serves sessions; every other node keeps a link to each relay (NAT traversal's fallback).
  const relay =
    node.role === 'relay'
      ? ['--relay']
      : topo.nodes.filter((n) => n.role === 'relay').flatMap((n) => ['--relay-peer', `${n.address}:${n.port}`]);
  return [
    ...opts.command,
    'node',
    // every interface, advertising the data interface's address: the socket survives a `move`
    '--listen',
    `0.0.0.0:${node.port}`,
    '--interface',
    IF.host,
    ...boot,
    ...relay,
    '--metrics',
    `${opts.mgmtAddress}:${METRICS_PORT}`,
    '--key',
    opts.keyFile,
    ...node.args,
  ];
}
