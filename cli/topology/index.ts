/**
 * `quicmesh/topology`: the lab's topology model, for tools that read quicmesh-lab topology files.
 * A file is parsed (YAML), validated against the schema, checked, and resolved: defaults applied,
 * replicas expanded, every address assigned. Needs yaml and zod only, none of the lab's CLI.
 * @module quicmesh/topology
 */
export { loadTopology, parseTopology } from './parse.js';
export { TopologyError, formatIssue, type TopologyIssue } from './errors.js';
export type {
  Expectation,
  FilteringBehaviour,
  MappingBehaviour,
  NatBehaviour,
  NatPresetName,
  NetworkKind,
  NodeRole,
  PathKind,
  ResolvedLink,
  ResolvedNetwork,
  ResolvedNode,
  ResolvedRouter,
  ResolvedTopology,
  RouterSide,
  ScenarioAction,
  ScenarioCheck,
  ScenarioStep,
} from './model.js';
export {
  GRAPH_FORMATS,
  renderGraph,
  toDot,
  toMermaid,
  type GraphFormat,
  type GraphOptions,
} from './graph.js';
export { NAT_PRESETS, NAT_PRESET_TABLE, expectedPath, natPresetBehaviour, type ExpectedPath } from '../../src/nat/nat-presets.js';
export {
  TOPOLOGY_VERSION,
  TOPOLOGY_VERSIONS,
  TopologyFileSchema,
  topologyJsonSchema,
  type TopologyFile,
} from './schema.js';
