/**
 * The netns backend: a lab made of Linux network namespaces, veths, bridges and nftables, built from
 * a NetnsPlan in batches (`ip -batch -`, `ip -n NS -batch -`, `nft -f -`), steps in parallel across
 * namespaces. The state file is written before anything is created; a failed `up` rolls back.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, QuicmeshError } from '../../../src/errors.js';
import type { ResolvedTopology } from '../../topology/model.js';
import {
  type LabState,
  type NodeRecord,
  STATE_VERSION,
  labDir,
  readState,
  listStateLabs,
  removeLabDir,
  stateRoot,
  writeState,
} from '../../lab/lab-state.js';
import type { BuildStep, ExecResult, ForgetResult, LabHandle, LabStatus, MoveOptions, MoveResult, Runtime, UpOptions } from '../runtime.js';
import { registerRuntime } from '../runtime.js';
import { nsArgv, requireRoot, requireTools, run } from '../exec.js';
import { type NetnsPlan, planLab, planNamespaces } from './plan.js';
import { applyShaping, detectNetem, planShaping, shapingLabel } from './shaping.js';
import { defaultNodeCommand, getJson, startNodes } from './nodes.js';
import { listNamespaces, listRootLinks, teardown } from './teardown.js';
import { checkLabName, labTag, nsPrefix } from './names.js';
import { moveHost } from './move.js';
import { forgetNatState } from './forget.js';

async function rootBatch(lines: string[]): Promise<void> {
  if (lines.length) await run(['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

async function nsBatches(map: Map<string, string[]>): Promise<void> {
  await Promise.all([...map].map(([ns, lines]) => run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' })));
}

/**
 * Pick and claim a free 172.31.<k>.0/24 for the management network: not claimed by a live lab, not routed
 * in the root namespace. The claim is a file created exclusively (two concurrent `up`s never share k);
 * a claim whose lab has no state file any more is stale and reused.
 */
async function claimMgmtIndex(lab: string): Promise<number> {
  const { stdout } = await run(['ip', '-4', 'route', 'show', 'table', 'all']);
  if (/(^|\s)(172\.(1[6-9]|2\d|3[01])\.0\.0\/12|172\.31\.0\.0\/16)/m.test(stdout)) {
    throw new ConfigError('172.31.0.0/16 is routed in the root namespace; the lab management network cannot use it');
  }
  const routed = new Set([...stdout.matchAll(/172\.31\.(\d+)\.\d+/g)].map((m) => Number(m[1])));
  const dir = join(stateRoot(), '.mgmt');
  mkdirSync(dir, { recursive: true });
  for (let k = 1; k <= 254; k++) {
    if (routed.has(k)) continue;
    const claim = join(dir, String(k));
    if (existsSync(claim)) {
      const owner = readFileSync(claim, 'utf8').trim();
      if (owner === lab || readState(owner)) continue;
      rmSync(claim, { force: true });
    }
    try {
      writeFileSync(claim, lab, { flag: 'wx' });
      return k;
    } catch {
      // claimed by a concurrent up: try the next one
    }
  }
  throw new ConfigError('no free management subnet in 172.31.0.0/16');
}

/** Drop the management-subnet claims of a lab. */
function releaseMgmtIndex(lab: string): void {
  const dir = join(stateRoot(), '.mgmt');
  if (!existsSync(dir)) return;
  for (const k of readdirSync(dir)) {
    const claim = join(dir, k);
    if (readFileSync(claim, 'utf8').trim() === lab) rmSync(claim, { force: true });
  }
}

class NetnsRuntime implements Runtime {
  readonly name = 'netns';

  async up(topo: ResolvedTopology, opts: UpOptions = {}): Promise<LabHandle> {
    requireRoot();
    requireTools(['ip', 'nft']);
    checkLabName(topo.name);
    const progress = opts.onProgress ?? (() => {});
    const lab = topo.name;
    if (readState(lab)) throw new ConfigError(`lab "${lab}" is already up (run: quicmesh-lab down ${lab})`);
    if ((await listNamespaces()).some((n) => n.startsWith(nsPrefix(lab)))) {
      throw new ConfigError(`namespaces of lab "${lab}" exist without a state file (run: quicmesh-lab down ${lab})`);
    }
    const startNodesToo = opts.startNodes ?? true;
    const plan = planLab(topo, topo.nodes.length ? await claimMgmtIndex(lab) : null);
    const targets = planShaping(topo, plan);
    if (targets.length) requireTools(['tc']);

    const state: LabState = {
      version: STATE_VERSION,
      lab,
      backend: this.name,
      topologyFile: topo.sourceFile,
      createdAt: new Date().toISOString(),
      phase: 'building',
      tag: labTag(lab),
      namespaces: planNamespaces(plan),
      rootLinks: plan.rootLinks,
      mgmtSubnet: plan.mgmt?.subnet ?? null,
      nodes: plan.nodes,
      processes: [],
      shaping: null,
      networks: plan.networks,
      links: topo.links,
    };
    writeState(state);
    const timings: Partial<Record<BuildStep, number>> = {};
    const step = async (name: BuildStep, what: string, fn: () => Promise<void>): Promise<void> => {
      const t0 = performance.now();
      await fn();
      timings[name] = performance.now() - t0;
      progress(`${name}: ${what} (${(timings[name] / 1000).toFixed(2)} s)`);
      if (opts.failAfterStep === name) throw new QuicmeshError(`injected failure after step "${name}"`);
    };

    try {
      await step('networks', `${plan.switches.length} switch namespace(s)`, async () => {
        await rootBatch(plan.root.networks);
        await nsBatches(plan.inNs.networks);
      });
      await step('routers', `${plan.routers.length} router(s), NAT rules`, async () => {
        await rootBatch(plan.root.routers);
        await nsBatches(plan.inNs.routers);
        await Promise.all(
          plan.routers.map(async (ns) => {
            const sysctls = Object.entries(plan.sysctls.get(ns) ?? {}).map(([k, v]) => `${k}=${v}`);
            // conntrack's sysctls appear once nf_conntrack is in use: load the rules first
            await run(nsArgv(ns, ['nft', '-f', '-']), { input: plan.nft.get(ns) ?? '' });
            if (sysctls.length) await run(nsArgv(ns, ['sysctl', '-q', '-w', ...sysctls]));
          }),
        );
      });
      await step('hosts', `${plan.hosts.length} host(s)`, async () => {
        await rootBatch(plan.root.hosts);
        await nsBatches(plan.inNs.hosts);
      });
      let shaping = 'none requested';
      await step('shaping', `${targets.length} shaped interface(s)`, async () => {
        if (!targets.length) return;
        const mode = (await detectNetem()) ? 'netem' : 'fallback';
        if (mode === 'fallback') requireTools(['iptables']);
        shaping = shapingLabel(mode);
        progress(`shaping with ${shaping}`);
        await applyShaping(targets, mode, join(labDir(lab), 'logs'), (p) => {
          state.processes.push(p);
          writeState(state);
        });
      });
      state.shaping = shaping;
      await step('management', plan.mgmt ? `${plan.mgmt.subnet} on ${plan.mgmt.bridge}` : 'none', async () => {
        await rootBatch(plan.root.management);
        await nsBatches(plan.inNs.management);
      });
      if (startNodesToo && topo.nodes.length) {
        await step('nodes', `${topo.nodes.length} node process(es)`, () =>
          startNodes(topo, state.nodes, {
            command: opts.nodeCommand ?? defaultNodeCommand(),
            labDir: labDir(lab),
            readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
            onProcess: (p) => {
              state.processes.push(p);
              writeState(state);
            },
            onProgress: progress,
          }),
        );
      }
      state.phase = 'up';
      writeState(state);
      return { name: lab, backend: this.name, nodes: state.nodes.map(toLabNode), shaping, timings };
    } catch (err) {
      progress(`up failed: rolling back lab ${lab}`);
      await this.down(lab, { onProgress: progress }).catch(() => {});
      throw err;
    }
  }

  async down(lab: string, opts: { onProgress?: (line: string) => void } = {}): Promise<void> {
    requireRoot();
    checkLabName(lab);
    const state = readState(lab);
    if (state) {
      state.phase = 'tearing-down';
      writeState(state);
    }
    await teardown(lab, state, opts.onProgress ?? (() => {}));
    removeLabDir(lab);
    releaseMgmtIndex(lab);
  }

  async status(lab: string): Promise<LabStatus> {
    const state = this.mustState(lab);
    const nodes = await Promise.all(
      state.nodes.map(async (n) => {
        if (!n.statusUrl) return { ...toLabNode(n), live: null };
        const body = await getJson(n.statusUrl, 1500);
        return {
          ...toLabNode(n),
          live: { node: n.name, reachable: body !== null, status: body, error: body ? null : `no answer from ${n.statusUrl}` },
        };
      }),
    );
    return { name: lab, backend: state.backend, phase: state.phase, nodes };
  }

  async exec(lab: string, node: string, argv: string[], opts: { inherit?: boolean } = {}): Promise<ExecResult> {
    requireRoot();
    const rec = this.mustState(lab).nodes.find((n) => n.name === node);
    if (!rec) throw new ConfigError(`lab ${lab} has no node or router "${node}"`);
    if (!argv.length) throw new ConfigError('exec: no command given (use: exec NODE -- cmd args)');
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', rec.namespace, ...argv], { stdio: opts.inherit ? 'inherit' : 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  logsPath(lab: string, node: string): string {
    return join(labDir(lab), 'logs', `${node}.log`);
  }

  async listLabs(): Promise<string[]> {
    const labs = new Set(listStateLabs());
    // labs whose state file is gone but whose namespaces remain (crash): still listed, so they can be downed
    for (const ns of await listNamespaces().catch(() => [])) {
      const m = /^qm-([A-Za-z0-9][A-Za-z0-9.-]*)_[nrh]_/.exec(ns);
      if (m?.[1]) labs.add(m[1]);
    }
    return [...labs].sort();
  }

  moveHost(lab: string, node: string, network: string, opts?: MoveOptions): Promise<MoveResult> {
    return moveHost(lab, node, network, opts);
  }

  forgetNatState(lab: string, nodeA: string, nodeB: string): Promise<ForgetResult> {
    return forgetNatState(lab, nodeA, nodeB);
  }

  private mustState(lab: string): LabState {
    const state = readState(lab);
    if (!state) throw new ConfigError(`no lab named "${lab}" is up`);
    return state;
  }
}

function toLabNode(n: NodeRecord) {
  return {
    name: n.name,
    kind: n.kind,
    namespace: n.namespace,
    network: n.network,
    addresses: n.addresses,
    nat: n.nat,
    statusUrl: n.statusUrl,
    logFile: n.logFile,
  };
}

registerRuntime('netns', () => new NetnsRuntime());

export { NetnsRuntime, listRootLinks };
export type { NetnsPlan };
