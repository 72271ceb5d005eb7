/**
 * Node kinds (meaning part): which kind each group runs, the checks the schema cannot make (a kind name
 * that exists, program fields only on command nodes, template variables, probes for expectations), and
 * the resolved program of a group. Pure; shared by check.ts and resolve.ts.
 *
 * A group's kind: its own `kind`, else `defaults.node.kind`, else `command` when a command is given, else
 * `quicmesh`. A program field (command, env, ready, probe, image) comes from the group, else
 * `defaults.node`, else the named kind's entry under `kinds:`. A group's `args` are appended to its command.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import type { PathSegment } from './errors.js';
import type { ResolvedProgram, ResolvedReady } from './model.js';
import type { KindConfig, ReadyConfig, StackFile } from './kind-schema.js';
import { BUILTIN_KINDS, PROGRAM_FIELDS } from './kind-schema.js';
import { expandNodeRef, type NodeNames } from './names.js';
import type { NodeGroupConfig, TopologyFile } from './schema.js';
import { checkTemplate, type TemplateScope } from './templates.js';
import { parseDurationMs } from './units.js';
import { expectEntryText, parseExpectLine } from './expect.js';

type ProgramKey = keyof typeof PROGRAM_FIELDS;
const PROGRAM_KEYS = Object.keys(PROGRAM_FIELDS) as ProgramKey[];

type Report = (path: PathSegment[], message: string) => void;

/** A group's kind as written or inherited: "quicmesh", "command" or a `kinds:` name. */
export function groupKind(file: TopologyFile, group: NodeGroupConfig): string {
  const defaults = file.defaults?.node;
  const explicit = group.kind ?? defaults?.kind;
  if (explicit !== undefined) return explicit;
  return group.command !== undefined || defaults?.command !== undefined ? 'command' : 'quicmesh';
}

/** Where a program field of a group comes from (its own, the defaults, the named kind), with its path. */
function fieldOf<K extends ProgramKey>(
  file: TopologyFile,
  groupName: string,
  group: NodeGroupConfig,
  kind: string,
  key: K,
): { value: KindConfig[K]; path: PathSegment[] } | null {
  if (group[key] !== undefined)
    return { value: group[key] as KindConfig[K], path: ['nodes', groupName, key] };
  const defaults = file.defaults?.node;
  if (defaults?.[key] !== undefined)
    return { value: defaults[key] as KindConfig[K], path: ['defaults', 'node', key] };
  const entry = (BUILTIN_KINDS as readonly string[]).includes(kind) ? undefined : file.kinds?.[kind];
  if (entry?.[key] !== undefined) return { value: entry[key], path: ['kinds', kind, key] };
  return null;
}

/** The semantic checks of kinds; `names` are the topology's node names. */
export function checkKinds(file: TopologyFile, names: NodeNames, reportAll: Report): void {
  // a kind's (or the defaults') field is shared by many groups: each problem once
  const seen = new Set<string>();
  const report: Report = (path, message) => {
    const key = `${JSON.stringify(path)}\n${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    reportAll(path, message);
  };
  const kindNames = Object.keys(file.kinds ?? {});
  for (const name of kindNames) {
    if ((BUILTIN_KINDS as readonly string[]).includes(name)) {
      report(['kinds', name], `"${name}" is a built-in kind; name your program otherwise`);
    }
  }
  const nodeSet = new Set(names.groupOf.keys());
  const own = kindNames.filter((k) => !(BUILTIN_KINDS as readonly string[]).includes(k));
  const known = [...BUILTIN_KINDS, ...own].join(', ');
  const reportedDefaults = new Set<string>();
  for (const [groupName, group] of Object.entries(file.nodes)) {
    const kind = groupKind(file, group);
    const kindPath: PathSegment[] =
      group.kind !== undefined ? ['nodes', groupName, 'kind'] : ['defaults', 'node', 'kind'];
    if (kind !== 'quicmesh' && kind !== 'command' && !own.includes(kind)) {
      report(kindPath, `unknown kind "${kind}" (known: ${known})`);
      continue;
    }
    if (kind === 'quicmesh') {
      for (const key of PROGRAM_KEYS) {
        const at = fieldOf(file, groupName, group, kind, key);
        if (!at) continue;
        const inherited = at.path[0] === 'defaults';
        if (inherited && reportedDefaults.has(key)) continue;
        if (inherited) reportedDefaults.add(key);
        report(
          at.path,
          `only a command node takes ${key} (${inherited ? `group ${groupName}` : 'this group'} runs kind quicmesh; set kind: command)`,
        );
      }
      continue;
    }
    if (!fieldOf(file, groupName, group, kind, 'command')) {
      report(
        ['nodes', groupName],
        `a node of kind ${kind} needs a command (the program to start, e.g. command: [node, server.js])`,
      );
    }
    for (const key of ['command', 'env', 'ready', 'probe'] as const) {
      const at = fieldOf(file, groupName, group, kind, key);
      if (at) checkProgramTemplates(key, at.value, at.path, nodeSet, report);
    }
  }
  checkKindExpectations(file, names, report);
}

function checkProgramTemplates(
  key: 'command' | 'env' | 'ready' | 'probe',
  value: unknown,
  path: PathSegment[],
  nodes: ReadonlySet<string>,
  report: Report,
): void {
  const check = (text: string, at: PathSegment[], scope: TemplateScope): void => {
    const problem = checkTemplate(text, scope, nodes);
    if (problem) report(at, problem);
  };
  if (key === 'command' || key === 'probe') {
    (value as string[]).forEach((arg, i) => check(arg, [...path, i], key === 'probe' ? 'probe' : 'start'));
  } else if (key === 'env') {
    for (const [name, v] of Object.entries(value as Record<string, string>))
      check(v, [...path, name], 'start');
  } else {
    const ready = value as ReadyConfig;
    for (const k of ['udp', 'tcp'] as const) {
      const port = ready[k];
      if (typeof port === 'string') check(port, [...path, k], 'start');
    }
    if (ready.http !== undefined) check(ready.http, [...path, 'http'], 'start');
    ready.command?.forEach((arg, i) => check(arg, [...path, 'command', i], 'start'));
  }
}

/**
 * An expectation starts at a node that can probe: a quicmesh node (to a quicmesh node) or a command node with
 * a probe. The same holds for the scenario's checks (issue 13); a stream needs quicmesh nodes at both ends.
 */
function checkKindExpectations(file: TopologyFile, names: NodeNames, report: Report): void {
  const kindOfNode = (node: string): string => {
    const group = names.groupOf.get(node);
    return group && file.nodes[group] ? groupKind(file, file.nodes[group]) : 'quicmesh';
  };
  const hasProbe = (node: string): boolean => {
    const groupName = names.groupOf.get(node)!;
    const group = file.nodes[groupName]!;
    return fieldOf(file, groupName, group, groupKind(file, group), 'probe') !== null;
  };
  /** Why `a` cannot probe `b`, or null. */
  const pairProblem = (a: string, b: string): string | null => {
    const fromKind = kindOfNode(a);
    if (fromKind !== 'quicmesh') {
      return hasProbe(a)
        ? null
        : `node ${a} runs kind ${fromKind}, which has no probe: an expectation from it needs one (probe: [program, "{{to.address}}", …])`;
    }
    const toKind = kindOfNode(b);
    return toKind !== 'quicmesh'
      ? `${a} is a quicmesh node and ${b} runs kind ${toKind}: a quicmesh node only probes quicmesh nodes`
      : null;
  };
  /** Reports the first pair of froms × tos that cannot be probed. */
  const checkPairs = (froms: readonly string[], tos: readonly string[], at: PathSegment[]): void => {
    for (const a of froms)
      for (const b of tos) {
        if (a === b) continue;
        const problem = pairProblem(a, b);
        if (problem) return report(at, problem);
      }
  };
  const pairsOf = (text: string): [string[], string[]] | null => {
    const parsed = parseExpectLine(text);
    if (!parsed.ok) return null; // reported by check.ts
    return [expandNodeRef(names, parsed.line.from), expandNodeRef(names, parsed.line.to)];
  };
  (file.expect ?? []).forEach((entry, i) => {
    const pairs = pairsOf(expectEntryText(entry));
    if (pairs) checkPairs(pairs[0], pairs[1], ['expect', i]);
  });
  (file.scenario ?? []).forEach((step, i) => {
    if (step.expect !== undefined) {
      const pairs = pairsOf(expectEntryText(step.expect));
      if (pairs) checkPairs(pairs[0], pairs[1], ['scenario', i, 'expect']);
    }
    if (step.stream !== undefined) {
      const ends = /^\s*(\S+?)\s*->\s*(\S+)\s*$/.exec(step.stream)?.slice(1) ?? [];
      const other = ends.map((n) => [n, kindOfNode(n)] as const).find(([n, k]) => names.groupOf.has(n) && k !== 'quicmesh');
      if (other) {
        report(
          ['scenario', i, 'stream'],
          `node ${other[0]} runs kind ${other[1]}: a stream needs quicmesh nodes at both ends (a program has no stream endpoint)`,
        );
      }
    }
    const allPairs = step['all-pairs'];
    if (allPairs !== undefined) {
      const o = allPairs === true ? {} : allPairs;
      const among =
        o.among === undefined
          ? [...names.groupOf.keys()]
          : (Array.isArray(o.among) ? o.among : [o.among]).flatMap((ref) => expandNodeRef(names, ref));
      checkPairs(among, among, ['scenario', i, 'all-pairs']);
    }
  });
}

function resolveReady(ready: ReadyConfig): ResolvedReady {
  const timeoutMs = ready.timeout === undefined ? null : parseDurationMs(ready.timeout);
  if (ready.udp !== undefined) return { check: 'udp', port: String(ready.udp), timeoutMs };
  if (ready.tcp !== undefined) return { check: 'tcp', port: String(ready.tcp), timeoutMs };
  if (ready.http !== undefined) return { check: 'http', url: ready.http, timeoutMs };
  return { check: 'command', argv: [...(ready.command ?? [])], timeoutMs };
}

/**
 * The program of a (checked) group, or null for a quicmesh group. `dirs` gives `{{dir}}` per kind name (a
 * stack's own directory); otherwise the topology file's directory.
 */
export function resolveProgram(
  file: TopologyFile,
  groupName: string,
  group: NodeGroupConfig,
  args: readonly string[],
  opts: { sourceFile: string; dirs?: Readonly<Record<string, string>> },
): ResolvedProgram | null {
  const kind = groupKind(file, group);
  if (kind === 'quicmesh') return null;
  const get = <K extends ProgramKey>(key: K): KindConfig[K] | undefined =>
    fieldOf(file, groupName, group, kind, key)?.value;
  const ready = get('ready');
  return {
    kind,
    command: [...(get('command') ?? []), ...args],
    env: { ...(get('env') ?? {}) },
    ready: ready ? resolveReady(ready) : null,
    probe: get('probe') ? [...get('probe')!] : null,
    image: get('image') ?? null,
    dir: opts.dirs?.[kind] ?? dirname(resolvePath(opts.sourceFile)),
  };
}

/**
 * A topology with a stack applied: the stack becomes kind `<stack.name>`, and every group that does not
 * choose its kind itself runs it (its quicmesh `args` dropped: they were flags of `quicmesh node`).
 */
export function applyStack(file: TopologyFile, stack: StackFile): TopologyFile {
  const { name, description: _description, ...program } = stack;
  const nodes: TopologyFile['nodes'] = {};
  for (const [groupName, group] of Object.entries(file.nodes)) {
    if (group.kind !== undefined) {
      nodes[groupName] = group;
      continue;
    }
    const { args: _args, replicas, ...rest } = group;
    const plainReplicas = replicas
      ? Object.fromEntries(
          Object.entries(replicas).map(([r, o]) => [
            r,
            { ...(o.port !== undefined ? { port: o.port } : {}) },
          ]),
        )
      : undefined;
    nodes[groupName] = { ...rest, kind: name, ...(plainReplicas ? { replicas: plainReplicas } : {}) };
  }
  const defaultsNode = file.defaults?.node;
  const { args: _dargs, ...defaultsRest } = defaultsNode ?? {};
  return {
    ...file,
    ...(file.defaults
      ? { defaults: { ...file.defaults, ...(defaultsNode ? { node: defaultsRest } : {}) } }
      : {}),
    kinds: { ...(file.kinds ?? {}), [name]: program },
    nodes,
  };
}
