/**
 * Which nodes the UI watches: from a lab's state file (the hosts the backend started, with their
 * management status URLs), or from an explicit `--nodes name=http://host:port,...` list that points
 * at any quicmesh nodes with a status server.
 */
import { formatNatStack } from '../nat/stack.js';
import { ConfigError } from '../../src/errors.js';
import type { LabState } from '../runtime/state.js';
import type { NodeTarget } from './node-view.js';

/** "http://h:p", "http://h:p/", "http://h:p/status" and "http://h:p/metrics" all give "http://h:p". */
export function baseUrlOf(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(status|metrics|healthz)$/, '');
}

/** Parse `name=url,name=url` (a bare `host:port` gets `http://`). */
export function parseNodesFlag(value: string): NodeTarget[] {
  const out: NodeTarget[] = [];
  const seen = new Set<string>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      throw new ConfigError(`--nodes: "${item}" is not name=url (e.g. a1=http://127.0.0.1:9464)`);
    }
    const name = item.slice(0, eq).trim();
    let url = item.slice(eq + 1).trim();
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `http://${url}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`--nodes: "${url}" (node ${name}) is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(`--nodes: node ${name} needs an http(s) URL, got ${parsed.protocol}`);
    }
    if (seen.has(name)) throw new ConfigError(`--nodes: node "${name}" is listed twice`);
    seen.add(name);
    out.push({ name, baseUrl: baseUrlOf(url) });
  }
  if (out.length === 0) throw new ConfigError('--nodes: no nodes given');
  return out;
}

/**
 * The lab's hosts as targets. Hosts without a status URL (a lab built without its management
 * network) cannot be watched: `unwatchable` names them so the caller can say so.
 */
export function targetsFromLabState(state: LabState): { targets: NodeTarget[]; unwatchable: string[] } {
  const targets: NodeTarget[] = [];
  const unwatchable: string[] = [];
  for (const n of state.nodes) {
    if (n.kind !== 'host') continue;
    // node kinds (issue 14): a command node has no status URL; the UI shows whether its program runs
    if (n.launch?.kind !== undefined && n.launch.kind !== 'quicmesh') {
      targets.push({ name: n.name, baseUrl: '', network: n.network, nat: n.nat, program: n.launch.kind });
      continue;
    }
    if (!n.statusUrl) {
      unwatchable.push(n.name);
      continue;
    }
    const nat = n.natStack ? formatNatStack(n.natStack) : n.nat;
    targets.push({ name: n.name, baseUrl: baseUrlOf(n.statusUrl), network: n.network, nat });
  }
  return { targets, unwatchable };
}
