/**
 * The netns backend against the real kernel (root only): up/down leaves nothing behind, a failure
 * injected mid-way rolls back, a crashed `up` is cleaned by `down` from its state file, node processes
 * are started and answer over the management network, and link shaping measures what was asked.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { labDir, readState } from '../../cli/runtime/state.js';
import { nsName, rootIfPrefix } from '../../cli/runtime/names.js';
import { listNamespaces, listRootLinks } from '../../cli/runtime/wiring/teardown.js';
import type { ProbeResult } from '../../cli/runtime/tools/udp-probe.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { host, isRootWithTools, threeRouterLab } from './lab-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROBE = join(here, '..', '..', 'cli', 'runtime', 'tools', 'udp-probe.ts');
const rt = getRuntime('netns');
const labs = ['qmt-updown', 'qmt-rollback', 'qmt-crash', 'qmt-nodes', 'qmt-shape'];

async function leftovers(lab: string): Promise<string[]> {
  const ns = (await listNamespaces()).filter((n) => n.startsWith(`qm-${lab}_`));
  const links = (await listRootLinks()).filter((l) => l.startsWith(rootIfPrefix(lab)));
  return [...ns, ...links, ...(existsSync(labDir(lab)) ? [labDir(lab)] : [])];
}

function execOut(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

/** Start the UDP echo in `ns`, resolve once it printed "ready"; returns a stopper. */
function startEcho(ns: string, addr: string): Promise<() => void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', PROBE, 'echo', addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`udp echo exited with ${code}`)));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(() => child.kill('SIGTERM'));
    });
  });
}

async function probe(ns: string, target: string, count: number, intervalMs: number): Promise<ProbeResult> {
  const out = await execOut(['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', PROBE, 'probe', target, String(count), String(intervalMs)]);
  return JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.runIf(isRootWithTools())('netns backend', () => {
  afterAll(async () => {
    for (const lab of labs) await rt.down(lab).catch(() => {});
  }, 60_000);

  it('up builds the namespaces and routes, down leaves nothing behind', async () => {
    const before = await listNamespaces();
    const topo = threeRouterLab('qmt-updown');
    const handle = await rt.up(topo, { startNodes: false });
    expect(handle.nodes.filter((n) => n.kind === 'router')).toHaveLength(3);
    const during = await listNamespaces();
    for (const n of topo.nodes) expect(during).toContain(nsName('qmt-updown', 'h', n.name));
    for (const r of topo.routers) expect(during).toContain(nsName('qmt-updown', 'r', r.name));
    const route = await rt.exec('qmt-updown', 'h2a', ['ip', 'route', 'show', 'default']);
    expect(route.stdout).toContain('default via 10.0.2.1 dev eth0');
    const nat = await rt.exec('qmt-updown', 'r2', ['nft', 'list', 'table', 'ip', 'qm_nat']);
    expect(nat.stdout).toContain('masquerade random');
    expect(await rt.listLabs()).toContain('qmt-updown');
    await rt.down('qmt-updown');
    expect(await leftovers('qmt-updown')).toEqual([]);
    expect((await listNamespaces()).sort()).toEqual(before.sort());
  });

  it('a failure injected mid-way rolls back everything up made', async () => {
    const lines: string[] = [];
    await expect(
      rt.up(threeRouterLab('qmt-rollback'), { startNodes: false, failAfterStep: 'hosts', onProgress: (l) => lines.push(l) }),
    ).rejects.toThrow(/injected failure after step "hosts"/);
    expect(lines.some((l) => l.includes('rolling back'))).toBe(true);
    expect(await leftovers('qmt-rollback')).toEqual([]);
  });

  it('down cleans a lab whose up crashed, from its state file and the prefix sweep', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-child.ts'), 'qmt-crash'], { stdio: 'ignore' });
    const signal = await new Promise<string | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');
    expect(readState('qmt-crash')?.phase).toBe('building');
    expect((await leftovers('qmt-crash')).length).toBeGreaterThan(0);
    await rt.down('qmt-crash');
    expect(await leftovers('qmt-crash')).toEqual([]);
  });

  it('starts node processes that answer /status over the management network', async () => {
    const topo = threeRouterLab('qmt-nodes');
    topo.nodes = topo.nodes.slice(0, 2);
    topo.nodes[0]!.role = 'bootstrap';
    const handle = await rt.up(topo, { nodeCommand: [process.execPath, join(here, 'fake-node.mjs')], readyTimeoutMs: 20_000 });
    expect(handle.nodes.filter((n) => n.kind === 'host').every((n) => n.statusUrl?.startsWith('http://172.31.'))).toBe(true);
    const st = await rt.status('qmt-nodes');
    const hosts = st.nodes.filter((n) => n.kind === 'host');
    // every interface (the socket survives a move), advertising eth0's address
    expect(hosts.map((h) => h.live?.status?.['listen'])).toEqual(['0.0.0.0:4433', '0.0.0.0:4433']);
    expect(hosts.map((h) => h.live?.status?.['interface'])).toEqual(['eth0', 'eth0']);
    let log = '';
    for await (const chunk of rt.logs('qmt-nodes', 'h1b')) log += chunk;
    expect(log).toContain('listening on 0.0.0.0:4433');
    expect(log).toContain('--bootstrap 10.0.1.10:4433');
    // the second node was told where the bootstrap node is; the management network is not a mesh path
    const isolated = await rt.exec('qmt-nodes', 'h1a', ['ip', 'route', 'get', '10.0.1.11']);
    expect(isolated.stdout).toContain('dev eth0');
    await rt.down('qmt-nodes');
    expect(await leftovers('qmt-nodes')).toEqual([]);
  });

  it('shaping: 25 ms each way on a network gives a 50 ms RTT; 10 % loss on a node loses 10 % of its packets', async () => {
    const topo: ResolvedTopology = {
      name: 'qmt-shape',
      sourceFile: '(test)',
      networks: [
        { name: 'slow', kind: 'public', subnet: '198.18.1.0/24' },
        { name: 'lossy', kind: 'public', subnet: '198.18.2.0/24' },
      ],
      routers: [],
      nodes: [host('a', 'slow', '198.18.1.10', null), host('b', 'slow', '198.18.1.11', null), host('c', 'lossy', '198.18.2.10', null), host('d', 'lossy', '198.18.2.11', null)],
      links: [
        { network: 'slow', node: null, delayMs: 25, jitterMs: 0, lossPct: 0, rateKbit: 0 },
        { network: 'lossy', node: 'c', delayMs: 0, jitterMs: 0, lossPct: 10, rateKbit: 0 },
      ],
      expectations: [],
    };
    const handle = await rt.up(topo, { startNodes: false });
    expect(handle.shaping).toMatch(/netem|NFQUEUE/);
    const stopB = await startEcho(nsName('qmt-shape', 'h', 'b'), '198.18.1.11:7000');
    const stopD = await startEcho(nsName('qmt-shape', 'h', 'd'), '198.18.2.11:7000');
    try {
      const [rtt, loss] = await Promise.all([
        probe(nsName('qmt-shape', 'h', 'a'), '198.18.1.11:7000', 200, 10),
        probe(nsName('qmt-shape', 'h', 'c'), '198.18.2.11:7000', 2000, 2),
      ]);
      const rttMs = median(rtt.rttsMs);
      const lossPct = (100 * (loss.sent - loss.received)) / loss.sent;
      console.log(`shaping (${handle.shaping}): median RTT ${rttMs.toFixed(2)} ms asked 50; loss ${lossPct.toFixed(1)} % asked 10`);
      expect(rtt.received).toBe(rtt.sent);
      expect(rttMs).toBeGreaterThan(45);
      expect(rttMs).toBeLessThan(55);
      expect(lossPct).toBeGreaterThan(7);
      expect(lossPct).toBeLessThan(13);
    } finally {
      stopB();
      stopD();
    }
    await rt.down('qmt-shape');
    expect(await leftovers('qmt-shape')).toEqual([]);
  });
});
