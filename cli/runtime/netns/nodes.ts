/**
 * Starting quicmesh node processes inside host namespaces and waiting until each answers GET /status
 * on its management address. argv is built by a pure function; readiness is awaited with a retry
 * loop under a deadline, failing early (with the log's tail) when a process exits.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TimeoutError } from '../../../src/errors.js';
import type { ResolvedNode, ResolvedTopology } from '../../topology/model.js';
import type { NodeRecord, ProcessRecord } from '../../lab/lab-state.js';
import { IF, METRICS_PORT } from './names.js';

const here = dirname(fileURLToPath(import.meta.url));
export const QUICMESH_BIN = join(here, '..', '..', '..', 'bin', 'quicmesh.js');

export function defaultNodeCommand(): string[] {
  return [process.execPath, QUICMESH_BIN];
}

/** argv of `quicmesh node` for one lab node. Bootstrap nodes get the other bootstrap nodes. Pure. */
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

/** GET a URL once, JSON body or null; never throws. */
export async function getJson(url: string, timeoutMs = 1000): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Start every host's node process; resolves when all answer /status. */
export async function startNodes(
  topo: ResolvedTopology,
  records: NodeRecord[],
  opts: { command: string[]; labDir: string; readyTimeoutMs: number; onProcess: (p: ProcessRecord) => void; onProgress: (l: string) => void },
): Promise<void> {
  const logDir = join(opts.labDir, 'logs');
  const keyDir = join(opts.labDir, 'keys');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + opts.readyTimeoutMs;
  let ready = 0;
  await Promise.all(
    topo.nodes.map(async (node) => {
      const rec = records.find((r) => r.name === node.name && r.kind === 'host');
      if (!rec?.mgmtAddress || !rec.statusUrl) throw new Error(`node ${node.name} has no management address`);
      const logFile = join(logDir, `${node.name}.log`);
      rec.logFile = logFile;
      const argv = nodeArgv(topo, node, { command: opts.command, mgmtAddress: rec.mgmtAddress, keyFile: join(keyDir, `${node.name}.key`) });
      const fd = openSync(logFile, 'a');
      const child = spawn('ip', ['netns', 'exec', rec.namespace, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      child.unref();
      let exited: number | null | undefined;
      child.once('exit', (code) => (exited = code));
      if (child.pid === undefined) throw new Error(`node ${node.name}: could not start ${argv[0]}`);
      opts.onProcess({ role: `node:${node.name}`, namespace: rec.namespace, pid: child.pid, cmdlineMark: argv[1] ?? argv[0]! });
      for (;;) {
        if (exited !== undefined) {
          throw new Error(`node ${node.name} exited (code ${exited}) before answering /status; log ${logFile}:\n${tail(logFile)}`);
        }
        if (await getJson(rec.statusUrl, 500)) break;
        if (Date.now() > deadline) {
          throw new TimeoutError(`node ${node.name} did not answer ${rec.statusUrl} within ${opts.readyTimeoutMs} ms; log ${logFile}:\n${tail(logFile)}`);
        }
        await new Promise((r) => setTimeout(r, 100)); // retry backoff, bounded by the deadline above
      }
      opts.onProgress(`  node ${node.name} ready (${++ready}/${topo.nodes.length})`);
    }),
  );
}
