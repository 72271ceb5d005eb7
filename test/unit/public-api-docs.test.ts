/**
 * The public API is what src/index.ts (`quicmesh`) and cli/topology/index.ts (`quicmesh/topology`)
 * export; the API reference (`npm run docs:api`) is generated from their doc comments, so every
 * export has one. PENDING lists exports still without one, each defined in a folder being
 * reorganised at the time (src/node, src/nat, src/traversal): it may only shrink.
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRIES = ['src/index.ts', 'cli/topology/index.ts'];

const PENDING = new Set<string>([
  'src/nat/hole-punch.ts:HolePunchCoordinator',
  'src/nat/hole-punch.ts:HolePunchCoordinatorOptions',
  'src/nat/hole-punch.ts:PunchEffect',
  'src/nat/hole-punch.ts:PunchOutcome',
  'src/nat/ice.ts:CandidatePair',
  'src/nat/ice.ts:CandidateType',
  'src/nat/ice.ts:CheckState',
  'src/nat/ice.ts:IceAgent',
  'src/nat/ice.ts:IceAgentOptions',
  'src/nat/ice.ts:IceCandidate',
  'src/nat/ice.ts:IceEffect',
  'src/nat/ice.ts:IceRole',
  'src/nat/nat-detection.ts:DetectNatOptions',
  'src/nat/nat-detection.ts:FilteringProbeId',
  'src/nat/nat-detection.ts:MappingProbeId',
  'src/nat/nat-detection.ts:NatProbe',
  'src/nat/nat-detection.ts:NatProbeResult',
  'src/nat/nat-detection.ts:NatReport',
  'src/nat/nat-detection.ts:NatType',
  'src/nat/relay/relay-client.ts:RankedRelay',
  'src/nat/relay/relay-client.ts:RelayClient',
  'src/nat/relay/relay-client.ts:RelayClientOptions',
  'src/nat/relay/relay-info.ts:RelayCapabilities',
  'src/nat/relay/relay-info.ts:RelayInfo',
  'src/nat/relay/relay-server.ts:RELAY_REJECT',
  'src/nat/relay/relay-server.ts:RelayOutcome',
  'src/nat/relay/relay-server.ts:RelayRejectReason',
  'src/nat/relay/relay-server.ts:RelayServer',
  'src/nat/relay/relay-server.ts:RelayServerOptions',
  'src/nat/relay/relay-server.ts:RelaySessionView',
  'src/node/bootstrap.ts:BootstrapResult',
  'src/node/control.ts:ConnectRequest',
  'src/node/control.ts:ConnectResponse',
  'src/node/create-node.ts:CreateNodeOptions',
  'src/node/create-node.ts:NodeAssembly',
  'src/node/create-node.ts:NodeServices',
  'src/node/create-node.ts:createNode',
  'src/node/dispatch.ts:RequestRouter',
  'src/node/dispatch.ts:RequestRouterOptions',
  'src/node/dispatch.ts:errorReply',
  'src/node/mesh-node.ts:MeshNode',
  'src/node/mesh-node.ts:MeshNodeOptions',
  'src/node/mesh-node.ts:NodeStatus',
  'src/traversal/probe.ts:ProbeOptions',
  'src/traversal/probe.ts:ProbePath',
  'src/traversal/probe.ts:ProbeResult',
  'src/node/pubsub-peers.ts:DEFAULT_PUBSUB_MAX_PEERS',
  'src/node/pubsub-peers.ts:DEFAULT_PUBSUB_REFRESH_MS',
  'src/node/pubsub-peers.ts:DEFAULT_PUBSUB_RETRY_AFTER_MS',
  'src/node/pubsub-peers.ts:FeedRefresh',
  'src/node/pubsub-peers.ts:PubsubPeerFeed',
  'src/node/pubsub-peers.ts:PubsubPeerFeedOptions',
  'src/traversal/relay-info-publisher.ts:RELAY_INFO_CHECK_MS',
  'src/traversal/relay-info-publisher.ts:RELAY_INFO_INTERVAL_MS',
  'src/traversal/relay-info-publisher.ts:RELAY_INFO_JITTER',
  'src/traversal/relay-info-publisher.ts:RELAY_INFO_LOAD_DELTA',
  'src/traversal/relay-info-publisher.ts:RelayInfoPublisher',
  'src/traversal/relay-info-publisher.ts:RelayInfoPublisherOptions',
  'src/traversal/relay-info-publisher.ts:RelayInfoPublisherStatus',
]);

/** Exports of `entry` whose declarations carry no doc comment, as "file:name". */
function undocumented(entry: string, program: ts.Program): string[] {
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.declarations ?? [];
    const documented = declarations.some((d) => {
      // a variable's comment sits on its statement; everything else carries its own
      const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
      return ts.getJSDocCommentsAndTags(node).some((c) => ts.isJSDoc(c) && (c.comment ?? '') !== '');
    });
    if (!documented) missing.push(`${declarations[0]?.getSourceFile().fileName ?? '?'}:${exported.name}`);
  }
  return missing;
}

describe('public API doc comments', () => {
  const program = ts.createProgram(ENTRIES, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });

  const missing = ENTRIES.flatMap((entry) => undocumented(entry, program)).map((m) =>
    m.startsWith(`${process.cwd()}/`) ? m.slice(process.cwd().length + 1) : m,
  );

  it.each(ENTRIES)('every export of %s has a doc comment', (entry) => {
    const own = undocumented(entry, program).map((m) =>
      m.startsWith(`${process.cwd()}/`) ? m.slice(process.cwd().length + 1) : m,
    );
    expect(own.filter((m) => !PENDING.has(m))).toEqual([]);
  });

  it('lists as pending only exports still without one', () => {
    expect([...PENDING].filter((p) => !missing.includes(p))).toEqual([]);
  });
});
