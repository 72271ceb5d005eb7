/**
 * Probes as commands (node kinds, issue 14): for an expectation `from -> to` whose `from` is a command node,
 * its `probe:` argv (templates filled in, `{{to.*}}` naming the target) runs inside `from` (Runtime.exec).
 *
 *   exit 0          connected
 *   exit ≠ 0        not connected (the last line of stderr, or of stdout, says why in the report)
 *   last line       optional result: a JSON object {"path": "direct|hole-punched|relayed", "ms": N} (either
 *                   field may be left out); a last line that starts with "{" must be such an object
 *   killed          a probe still running at the connect timeout is killed and reported as timed out
 *
 * `{{to.id}}` is what the target printed at start: the last line `ID <id>` in its log (Runtime.logs); a
 * quicmesh target's id is its NodeId. A probe printing an unreadable result line, or whose program does
 * not exist, is bad input: ProbeError, which stops the run with one line naming the node and the cause.
 */
import { ConfigError, TimeoutError } from '../../src/errors.js';
import type { ExecResult, LabRuntime } from '../runtime/index.js';
import { machineDataDir, readState } from '../runtime/state.js';
import { missingProgram, probeArgv } from '../runtime/plan/command-launch.js';
import type { ResolvedNode, ResolvedTopology } from '../topology/model.js';
import { usesIds } from '../topology/templates.js';
import type { MeshMember } from './mesh-ready.js';
import { failedObservation, type ConnectFn } from './run-expectations.js';
import type { Observation, ObservedPath } from './verdicts/index.js';

/** A command node as a probe sees it. */
export interface CommandMember {
  name: string;
  node: ResolvedNode;
}

/** Any node an expectation may name: a quicmesh node (its control endpoint) or a command node. */
export type LabMember = MeshMember | CommandMember;

export function isCommandMember(m: LabMember): m is CommandMember {
  return 'node' in m;
}

/** A probe that is bad input (an unreadable result, a program that does not exist): stops the run. */
export class ProbeError extends ConfigError {}

const PATHS: readonly ObservedPath[] = ['direct', 'hole-punched', 'relayed'];

const lastLine = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop() ?? '';

const shorten = (text: string, max = 80): string => (text.length > max ? `${text.slice(0, max)}…` : text);

export { missingProgram };

/**
 * What one probe's exec result means. Pure. `pair` names the probe in errors ("a-full -> b-port");
 * throws ProbeError for bad input.
 */
export function probeObservation(
  result: ExecResult,
  pair: { from: string; to: string },
  timeoutMs: number,
): Observation {
  const where = `probe in node ${pair.from} (-> ${pair.to})`;
  if (result.killed) {
    return {
      connected: false,
      path: null,
      timeToConnectMs: null,
      error: `probe timed out after ${timeoutMs} ms and was killed`,
    };
  }
  const missing = missingProgram(`${result.stderr}\n${result.stdout}`);
  if (result.code !== 0 && missing) throw new ProbeError(`${where}: its command "${missing}" was not found`);
  if (result.code !== 0) {
    const why = lastLine(result.stderr) || lastLine(result.stdout);
    return {
      connected: false,
      path: null,
      timeToConnectMs: null,
      error: `probe exited with code ${result.code}${why ? `: ${shorten(why)}` : ''}`,
    };
  }
  const line = lastLine(result.stdout);
  if (!line.startsWith('{')) return { connected: true, path: null, timeToConnectMs: null };
  const expected = 'expected {"path": "direct|hole-punched|relayed", "ms": N}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new ProbeError(
      `${where} printed an unreadable result line ${JSON.stringify(shorten(line))}: not JSON (${expected})`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProbeError(
      `${where} printed an unreadable result line ${JSON.stringify(shorten(line))} (${expected})`,
    );
  }
  const { path, ms } = parsed as { path?: unknown; ms?: unknown };
  if (path !== undefined && !PATHS.includes(path as ObservedPath)) {
    throw new ProbeError(`${where} printed an unknown path ${JSON.stringify(path)} (${expected})`);
  }
  if (ms !== undefined && (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)) {
    throw new ProbeError(`${where} printed a bad time ${JSON.stringify(ms)} (${expected})`);
  }
  return {
    connected: true,
    path: (path as ObservedPath | undefined) ?? null,
    timeToConnectMs: ms === undefined ? null : Math.round((ms as number) * 10) / 10,
  };
}

/** The id a node printed at start: its log's last `ID <id>` line. */
export function idFromLog(log: string): string | null {
  const ids = [...log.matchAll(/^ID (\S+)\s*$/gm)];
  return ids.length ? ids[ids.length - 1]![1]! : null;
}

/**
 * Read the ids of these command nodes from their logs, polling until each printed one or the deadline.
 * Throws naming the nodes that did not, with the end of one's log.
 */
export async function readIds(
  runtime: LabRuntime,
  lab: string,
  nodes: readonly string[],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const deadline = Date.now() + opts.timeoutMs;
  let missing = [...nodes];
  let last = '';
  for (;;) {
    for (const name of missing) {
      let log = '';
      for await (const chunk of runtime.logs(lab, name)) log += chunk;
      const id = idFromLog(log);
      if (id) ids.set(name, id);
      else last = log;
    }
    missing = missing.filter((n) => !ids.has(n));
    if (!missing.length) return ids;
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (Date.now() > deadline) {
      const tail = last.trimEnd().split('\n').slice(-10).join('\n') || '(empty log)';
      throw new TimeoutError(
        `node ${missing.join(', ')} printed no "ID <id>" line within ${opts.timeoutMs} ms (a probe uses {{to.id}}); the log of ${missing[missing.length - 1]} ends:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200)); // retry backoff, bounded by the deadline above
  }
}

/**
 * A ConnectFn for command nodes: runs `from`'s probe in it. `onBadInput` gets a ProbeError (the caller
 * stops the run); the probe then counts as not connected.
 */
export function commandConnect(
  runtime: LabRuntime,
  topology: ResolvedTopology,
  ids: ReadonlyMap<string, string>,
  onBadInput: (err: ProbeError) => void,
): ConnectFn<LabMember> {
  const lab = topology.name;
  const state = readState(lab);
  const rt = state ? runtime.backend.nodeRuntime({ state }) : null;
  return async (from, to, opts) => {
    const fail = failedObservation;
    if (!isCommandMember(from)) return fail(`internal: ${from.name} is not a command node`);
    const target = topology.nodes.find((n) => n.name === to.name)!;
    const dataDir = rt ? rt.dataDir(machineDataDir(lab, from.name)) : machineDataDir(lab, from.name);
    let argv: string[];
    try {
      argv = probeArgv(topology, from.node, target, { dataDir, ids, timeoutMs: opts.timeoutMs });
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    const killer = AbortSignal.any([
      AbortSignal.timeout(opts.timeoutMs),
      ...(opts.signal ? [opts.signal] : []),
    ]);
    let result: ExecResult;
    try {
      result = await runtime.exec(lab, from.name, argv, { signal: killer });
    } catch (err) {
      return fail(
        `probe could not run in ${from.name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    }
    try {
      return probeObservation(result, { from: from.name, to: to.name }, opts.timeoutMs);
    } catch (err) {
      if (err instanceof ProbeError) {
        onBadInput(err);
        return fail(err.message);
      }
      throw err;
    }
  };
}

/** Whether any probe uses an id (`{{to.id}}`, `{{node.<name>.id}}`): the lab then reads them first. */
export function probeIdsNeeded(topology: ResolvedTopology): boolean {
  return topology.nodes.some((n) => usesIds(n.program?.probe ?? []));
}
