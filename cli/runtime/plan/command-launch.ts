/**
 * A command node's launch (node kinds, issue 14): its argv, environment and readiness check with every
 * template variable filled in, and the values a probe sees. Pure; the backend gives the data directory as
 * the program sees it (the host path on netns, /lab in the container on docker).
 */
import type { ResolvedNode, ResolvedReady, ResolvedTopology } from '../../topology/model.js';
import { expandTemplate, TemplateValueError } from '../../topology/templates.js';
import { ConfigError } from '../../../src/errors.js';

/** What a started command node needs beyond argv: recorded in the state so a restart repeats it. */
export interface CommandLaunch {
  argv: string[];
  env: Record<string, string>;
  ready: ResolvedReady | null;
  image: string | null;
  /** Host directories the program reads ({{dir}}): mounted read-only at the same path on docker. */
  mounts: string[];
}

const peers = (topo: ResolvedTopology, self: ResolvedNode, role: string): string =>
  topo.nodes
    .filter((n) => n.role === role && n.name !== self.name)
    .map((n) => `${n.address}:${n.port}`)
    .join(',');

/**
 * The value of a template variable for `self`, or undefined when it has none here. `ids` gives the ids
 * nodes printed (probe scope); `to` is a probe's target.
 */
export function templateValues(
  topo: ResolvedTopology,
  self: ResolvedNode,
  opts: { dataDir: string; to?: ResolvedNode; ids?: ReadonlyMap<string, string>; timeoutMs?: number },
): (name: string) => string | undefined {
  const field = (node: ResolvedNode, key: string): string | undefined => {
    switch (key) {
      case 'name':
        return node.name;
      case 'address':
        return node.address;
      case 'port':
        return String(node.port);
      case 'role':
        return node.role;
      case 'network':
        return node.network;
      case 'group':
        return node.group;
      case 'id':
        return opts.ids?.get(node.name);
      default:
        return undefined;
    }
  };
  return (name) => {
    const parts = name.split('.');
    if (parts.length === 1) {
      if (name === 'bootstrap') return peers(topo, self, 'bootstrap');
      if (name === 'relay') return peers(topo, self, 'relay');
      if (name === 'lab') return topo.name;
      if (name === 'data') return opts.dataDir;
      if (name === 'dir') return self.program?.dir;
      if (name === 'timeout')
        return opts.timeoutMs === undefined ? undefined : String(Math.round(opts.timeoutMs));
      return undefined;
    }
    if (parts[0] === 'self' && parts.length === 2)
      return parts[1] === 'id' ? undefined : field(self, parts[1]!);
    if (parts[0] === 'to' && parts.length === 2 && opts.to) return field(opts.to, parts[1]!);
    if (parts[0] === 'node' && parts.length === 3) {
      const node = topo.nodes.find((n) => n.name === parts[1]);
      return node ? field(node, parts[2]!) : undefined;
    }
    return undefined;
  };
}

function expandAll(
  node: string,
  what: string,
  texts: readonly string[],
  value: (name: string) => string | undefined,
): string[] {
  try {
    return texts.map((t) => expandTemplate(t, value));
  } catch (err) {
    if (err instanceof TemplateValueError) throw new ConfigError(`node ${node}: its ${what}: ${err.message}`);
    throw err;
  }
}

/** The launch of a command node (throws for a quicmesh node). */
export function commandLaunch(
  topo: ResolvedTopology,
  node: ResolvedNode,
  opts: { dataDir: string },
): CommandLaunch {
  const program = node.program;
  if (!program) throw new Error(`internal: node ${node.name} is a quicmesh node`);
  const value = templateValues(topo, node, opts);
  const argv = expandAll(node.name, 'command', program.command, value);
  const env = Object.fromEntries(
    Object.entries(program.env).map(([k, v]) => [k, expandAll(node.name, `env ${k}`, [v], value)[0]!]),
  );
  let ready: ResolvedReady | null = null;
  const r = program.ready;
  if (r?.check === 'udp' || r?.check === 'tcp') {
    const port = expandAll(node.name, `ready.${r.check}`, [r.port], value)[0]!;
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new ConfigError(`node ${node.name}: ready.${r.check} is "${port}", not a port number`);
    }
    ready = { ...r, port };
  } else if (r?.check === 'http')
    ready = { ...r, url: expandAll(node.name, 'ready.http', [r.url], value)[0]! };
  else if (r?.check === 'command')
    ready = { ...r, argv: expandAll(node.name, 'ready.command', r.argv, value) };
  return { argv, env, ready, image: program.image, mounts: [program.dir] };
}

/** A probe's argv from `from` to `to`, or a ConfigError naming what is unknown (an id the target never printed). */
export function probeArgv(
  topo: ResolvedTopology,
  from: ResolvedNode,
  to: ResolvedNode,
  opts: { dataDir: string; ids: ReadonlyMap<string, string>; timeoutMs: number },
): string[] {
  if (!from.program?.probe)
    throw new ConfigError(`node ${from.name} (kind ${from.program?.kind ?? 'quicmesh'}) has no probe`);
  return expandAll(from.name, 'probe', from.program.probe, templateValues(topo, from, { ...opts, to }));
}

/**
 * The program a node or probe could not start, from the words of what ran it (`ip netns exec`, the engine,
 * tini as a container's init), or null.
 */
export function missingProgram(text: string): string | null {
  const m =
    /exec of "([^"]+)" failed: No such file or directory/.exec(text) ??
    /exec: "([^"]+)": (?:executable file not found in \$PATH|stat [^:]+: no such file or directory)/.exec(text) ??
    /\[FATAL tini \(\d+\)\] exec (\S+) failed: No such file or directory/.exec(text) ??
    /exec ([^:\s]+): no such file or directory/.exec(text);
  return m ? m[1]! : null;
}
