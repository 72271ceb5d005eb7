/**
 * Bringing a lab up from a topology file: what `quicmesh-lab up` and `quicmesh-lab test` share.
 * Loads and validates the file (a bad one throws TopologyError/ConfigError: exit 2), then builds it
 * with the chosen backend, which rolls back by itself when a step fails. Nodes start from a fresh
 * one-file build of the node binary (node-bundle.ts) unless a command is given.
 */
import type { ResolvedTopology } from '../topology/model.js';
import { loadTopology } from '../topology/parse.js';
import { loadStack } from '../topology/stack.js';
import { chooseRuntime, type LabHandle, type LabRuntime } from '../runtime/index.js';
import { bundleNodeBinary } from './node-bundle.js';

export interface BringUpOptions {
  backend: string;
  /** Start the node processes (false: network only). */
  startNodes?: boolean;
  /** How long to wait for every node's /status, ms. */
  readyTimeoutMs: number;
  /** Progress lines from the backend. */
  onProgress?: (line: string) => void;
  /** argv prefix for node processes (tests); the backend's default otherwise. */
  nodeCommand?: string[];
  /** A stack file (node kinds, issue 14) run in every node that does not choose its kind. */
  stack?: string;
}

export interface LabUp {
  topology: ResolvedTopology;
  runtime: LabRuntime;
  handle: LabHandle;
  /** Wall time of the build, node start-up included, ms. */
  elapsedMs: number;
}

/** Build an already loaded topology. */
export async function bringUpTopology(topology: ResolvedTopology, opts: BringUpOptions): Promise<LabUp> {
  const runtime = await chooseRuntime(opts.backend);
  const t0 = performance.now();
  const startNodes = opts.startNodes ?? true;
  let nodeCommand = opts.nodeCommand;
  // netns nodes run on the host: a fresh one-file build of the node binary starts faster than tsx
  // (docker nodes run the build inside the node image)
  if (!nodeCommand && startNodes && topology.nodes.some((n) => !n.program) && runtime.name === 'netns') {
    const bundle = await bundleNodeBinary();
    if (bundle.command) {
      nodeCommand = bundle.command;
      opts.onProgress?.(`node binary bundled (${(bundle.elapsedMs / 1000).toFixed(2)} s)`);
    } else if (bundle.reason !== 'compiled') {
      opts.onProgress?.(`nodes run through tsx (no bundle: ${bundle.reason})`);
    }
  }
  const handle = await runtime.up(topology, {
    startNodes,
    readyTimeoutMs: opts.readyTimeoutMs,
    onProgress: opts.onProgress,
    ...(nodeCommand ? { nodeCommand } : {}),
  });
  return { topology, runtime, handle, elapsedMs: performance.now() - t0 };
}

/** Load `file` (with the stack, if one is given) and build it. */
export async function bringUpFile(file: string, opts: BringUpOptions): Promise<LabUp> {
  return bringUpTopology(await loadTopologyWithStack(file, opts.stack), opts);
}

/** A topology file, with a stack file applied when one is given (`--stack FILE`). */
export async function loadTopologyWithStack(file: string, stack: string | undefined): Promise<ResolvedTopology> {
  return loadTopology(file, stack === undefined ? {} : { stack: await loadStack(stack) });
}
