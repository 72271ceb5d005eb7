/**
 * The docker backend: routers and hosts are containers (containers.ts) on no Docker network, nodes run in
 * containers of the lab's node image, logs and exec go through the engine. The data plane and the management
 * network are the shared wiring: veths from the lab's switch namespaces into the containers' namespaces (two
 * LANs may share a subnet, every preset behaves as on netns), and the lab's management bridge in the root
 * namespace with an isolated port per host, as on netns (no engine endpoint per pod: see connectManagement).
 * Everything is labelled with the lab's name; `down` finds it by label, also after a crash.
 */
import type Docker from 'dockerode';
import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough } from 'node:stream';
import { ConfigError, QuicmeshError } from '../../../src/errors.js';
import type { BackendSection, BuildContext, LabBackend, NodeLaunch, NodeLiveness, NodeRuntime } from '../backend.js';
import { requireRoot } from '../exec.js';
import type { LabPlan } from '../plan/lab-plan.js';
import type { ResolvedTopology } from '../../topology/model.js';
import { registerBackend } from '../registry.js';
import type { ExecOptions, ExecResult, LogOptions } from '../runtime.js';
import { type DockerSection, type LabState, type NodeProcessRecord, type NodeRecord, machineDataDir } from '../state.js';
import { connectMgmtBridge } from '../wiring/build.js';
import { alive, deleteRootLinks, inNamespace } from '../wiring/teardown.js';
import {
  attachNamespaces,
  inParallel,
  labContainers,
  nodeContainerName,
  nodeSpec,
  podSpec,
  createContainer,
  removeContainer,
  routerSpec,
  startContainer,
} from './containers.js';
import { docker, engineAddress, engineAnswers, engineIsLocal, engineMessage, LABEL, requireEngine, statusOf } from './engine.js';
import { ensureImages, IN_IMAGE } from './images.js';
import { Demuxer } from './streams.js';

/** Containers made at once: more only queue inside the engine on a small machine. */
const PARALLEL = 6;

/** node kinds (issue 14): a command node's `image:` must be on the engine already (nothing can be pulled). */
async function requireLocalImages(topo: ResolvedTopology): Promise<void> {
  for (const node of topo.nodes) {
    const image = node.program?.image;
    if (!image) continue;
    try {
      await docker().getImage(image).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw new QuicmeshError(`inspecting image ${image}: ${engineMessage(err)}`, { cause: err });
      throw new ConfigError(`node ${node.name}: image ${image} is not on the Docker engine (nothing is pulled: build or load it first, e.g. docker load -i FILE)`);
    }
  }
}

function section(state: LabState): DockerSection {
  if (!state.docker) throw new ConfigError(`lab ${state.lab} has no docker section in its state`);
  return state.docker;
}

/** The container a user means by a machine: a router's, a host's node container (its pod while the node is stopped). */
async function userContainer(state: LabState, node: NodeRecord): Promise<string> {
  if (node.kind === 'router') return node.namespace;
  const name = nodeContainerName(state.lab, node.name);
  try {
    const info = await docker().getContainer(name).inspect();
    if (info.State.Running) return name;
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  return node.namespace;
}

async function* demuxed(stream: NodeJS.ReadableStream, signal?: AbortSignal): AsyncGenerator<string> {
  const demux = new Demuxer();
  const stop = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of stream) {
      for (const frame of demux.push(Buffer.from(chunk as Buffer))) yield frame.data.toString('utf8');
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

class DockerBackend implements LabBackend {
  readonly name = 'docker';

  async prepare(topo: ResolvedTopology, plan: LabPlan, opts: { startNodes: boolean; progress(line: string): void }): Promise<BackendSection> {
    requireRoot();
    await requireEngine();
    if (opts.startNodes) await requireLocalImages(topo);
    if ((await labContainers(plan.lab)).length) {
      throw new ConfigError(`containers of lab "${plan.lab}" exist without a state file (run: quicmesh-lab down ${plan.lab})`);
    }
    const { images } = await ensureImages({ say: (line) => opts.progress(line) });
    return { docker: { engine: engineAddress(), images, network: null, containers: [] } };
  }

  async createMachines(ctx: BuildContext, kind: 'router' | 'host', namespaces: string[]): Promise<void> {
    const sec = section(ctx.state);
    const machines = namespaces.map((ns) => {
      const rec = ctx.state.nodes.find((n) => n.namespace === ns);
      if (!rec) throw new Error(`internal: no machine for namespace ${ns}`);
      const entry = { name: ns, machine: rec.name, role: kind === 'router' ? ('router' as const) : ('pod' as const), id: null as string | null };
      sec.containers.push(entry);
      return { ns, rec, entry };
    });
    ctx.save(); // recorded before they exist: a crash from here on still finds them (and their labels)
    const pids = await inParallel(machines, PARALLEL, async ({ ns, rec, entry }) => {
      const dataDir = machineDataDir(ctx.lab, rec.name);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const spec = kind === 'router' ? routerSpec(ctx.lab, rec.name, ns, sec.images.router, dataDir) : podSpec(ctx.lab, rec.name, ns, sec.images.node, dataDir);
      const { id, pid } = await startContainer(spec);
      entry.id = id;
      return pid;
    });
    ctx.save();
    await attachNamespaces(machines.map(({ ns }, i) => ({ ns, pid: pids[i]! })));
  }

  /**
   * The management network is the lab's own, as on netns: a bridge in the root namespace (named by the lab's
   * tag, so `down` and the sweep find it by name) and a veth per pod, ports isolated from each other. A
   * Docker network here cost an engine endpoint per pod (address management, firewall rules inside the
   * engine): half of a 50-node `up`'s hosts step on two cores.
   */
  async connectManagement(ctx: BuildContext, plan: LabPlan): Promise<void> {
    if (plan.mgmt) await connectMgmtBridge(ctx.lab, plan.mgmt);
  }

  nodeRuntime(): NodeRuntime {
    return { command: [IN_IMAGE.node, IN_IMAGE.bundle], keyFile: () => `${IN_IMAGE.dataDir}/node.key`, dataDir: () => IN_IMAGE.dataDir };
  }

  async stageNodes(ctx: BuildContext, launches: NodeLaunch[]): Promise<void> {
    const sec = section(ctx.state);
    const staged = launches.map((launch) => {
      const pod = sec.containers.find((c) => c.role === 'pod' && c.machine === launch.name);
      if (!pod?.id) throw new QuicmeshError(`node ${launch.name} has no pod container to run in`);
      const entry = { name: nodeContainerName(ctx.lab, launch.name), machine: launch.name, role: 'node' as const, id: null as string | null };
      sec.containers.push(entry);
      return { launch, podId: pod.id, entry };
    });
    ctx.save(); // recorded before they exist
    await inParallel(staged, PARALLEL, async ({ launch, podId, entry }) => {
      entry.id = await createContainer(nodeSpec(ctx.lab, launch.name, launch.image ?? sec.images.node, podId, launch.argv, launch.dataDir, launch));
    });
    ctx.save();
  }

  async startNode(ctx: BuildContext, launch: NodeLaunch): Promise<NodeProcessRecord> {
    const sec = section(ctx.state);
    const pod = sec.containers.find((c) => c.role === 'pod' && c.machine === launch.name);
    if (!pod?.id) throw new QuicmeshError(`node ${launch.name} has no pod container to run in`);
    const name = nodeContainerName(ctx.lab, launch.name);
    const previous = ctx.state.nodes.find((n) => n.name === launch.name)?.process;
    let pid: number;
    const existing = sec.containers.find((c) => c.role === 'node' && c.machine === launch.name);
    if (existing?.id) {
      // made ahead (stageNodes), or a stopped node starting again in its container: same key, data, namespace
      const container = docker().getContainer(existing.id);
      await container.start().catch((err: unknown) => {
        if (statusOf(err) !== 304) throw new QuicmeshError(`starting container ${name} failed: ${engineMessage(err)}`, { cause: err });
      });
      pid = (await container.inspect()).State.Pid;
    } else {
      const entry = { name, machine: launch.name, role: 'node' as const, id: null as string | null };
      sec.containers.push(entry);
      ctx.save();
      const started = await startContainer(nodeSpec(ctx.lab, launch.name, launch.image ?? sec.images.node, pod.id, launch.argv, launch.dataDir, launch));
      entry.id = started.id;
      pid = started.pid;
    }
    ctx.save();
    return { pid, container: name, running: true, restarts: previous ? previous.restarts + 1 : 0 };
  }

  async stopNode(ctx: BuildContext, node: NodeRecord, opts: { graceMs?: number } = {}): Promise<void> {
    const name = nodeContainerName(ctx.lab, node.name);
    try {
      await docker().getContainer(name).stop({ t: Math.ceil((opts.graceMs ?? 3000) / 1000) });
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw new QuicmeshError(`stopping ${name} failed: ${engineMessage(err)}`, { cause: err });
    }
    if (node.process) node.process = { ...node.process, pid: null, running: false };
    ctx.save();
  }

  async nodeLiveness(state: LabState, node: NodeRecord): Promise<NodeLiveness> {
    // the engine is local: a recorded container process still alive in the pod's namespace is running, with no
    // engine call (readiness asks this of every node ten times a second)
    const pid = node.process?.running ? node.process.pid : null;
    if (pid !== null && alive(pid) && inNamespace(pid, node.namespace)) return { running: true, exitCode: null };
    try {
      const info = await docker().getContainer(nodeContainerName(state.lab, node.name)).inspect();
      return { running: info.State.Running, exitCode: info.State.Running ? null : info.State.ExitCode };
    } catch (err) {
      if (statusOf(err) === 404) return { running: false, exitCode: null };
      throw err;
    }
  }

  async exec(state: LabState, node: NodeRecord, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const container = docker().getContainer(await userContainer(state, node));
    const tty = Boolean(opts.inherit && process.stdin.isTTY && process.stdout.isTTY);
    let exec: Docker.Exec;
    try {
      exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, AttachStdin: tty, Tty: tty });
    } catch (err) {
      throw new QuicmeshError(`exec in ${node.name} failed: ${engineMessage(err)}`, { cause: err });
    }
    const stream = (await exec.start({ hijack: true, stdin: tty, Tty: tty })) as NodeJS.ReadWriteStream;
    let stdout = '';
    let stderr = '';
    const out = new PassThrough();
    const err = new PassThrough();
    const sink = (name: 'stdout' | 'stderr') => (d: Buffer) => {
      if (opts.inherit) (name === 'stdout' ? process.stdout : process.stderr).write(d);
      else {
        const text = d.toString();
        if (name === 'stdout') stdout += text;
        else stderr += text;
        opts.onOutput?.(name, text);
      }
    };
    out.on('data', sink('stdout'));
    err.on('data', sink('stderr'));
    // node kinds (issue 14): a probe past its timeout is killed — by its host pid, the engine being local
    let killed = false;
    const kill = (): void => {
      killed = true;
      void exec
        .inspect()
        .then((info) => {
          if (info.Pid) process.kill(info.Pid, 'SIGKILL');
        })
        .catch(() => {}); // ended meanwhile
    };
    if (opts.signal?.aborted) kill();
    else opts.signal?.addEventListener('abort', kill, { once: true });
    if (tty) {
      process.stdin.setRawMode?.(true);
      process.stdin.pipe(stream);
      stream.pipe(out);
    } else docker().modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    }).finally(() => {
      if (tty) {
        process.stdin.unpipe(stream);
        process.stdin.setRawMode?.(false);
        process.stdin.pause();
      }
    });
    opts.signal?.removeEventListener('abort', kill);
    const info = await exec.inspect();
    return { code: info.ExitCode ?? (killed ? 137 : 1), stdout, stderr, ...(killed ? { killed } : {}) };
  }

  async execDetached(state: LabState, node: NodeRecord, argv: string[], logFile: string): Promise<{ pid: number | null }> {
    const container = docker().getContainer(await userContainer(state, node));
    // the machine's data directory is /lab in each of its containers: the log lands in it on the host
    const inContainer = `${IN_IMAGE.dataDir}/${basename(logFile)}`;
    try {
      const exec = await container.exec({ Cmd: ['/bin/sh', '-c', 'exec "$@" >>"$0" 2>&1', inContainer, ...argv], AttachStdout: false, AttachStderr: false });
      await exec.start({ Detach: true });
      return { pid: (await exec.inspect()).Pid ?? null };
    } catch (err) {
      throw new QuicmeshError(`exec --detach in ${node.name} failed: ${engineMessage(err)}`, { cause: err });
    }
  }

  async *logs(state: LabState, node: NodeRecord, opts: LogOptions = {}): AsyncGenerator<string> {
    const container = docker().getContainer(nodeContainerName(state.lab, node.name));
    const base = { stdout: true, stderr: true, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) };
    try {
      if (!opts.follow) {
        const buf = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
        const demux = new Demuxer();
        for (const f of demux.push(buf)) yield f.data.toString('utf8');
        return;
      }
      const stream = (await container.logs({ ...base, follow: true })) as NodeJS.ReadableStream;
      yield* demuxed(stream, opts.signal);
    } catch (err) {
      if (statusOf(err) === 404) throw new ConfigError(`no log for node ${node.name} in lab ${state.lab}: its container was never made`);
      throw err;
    }
  }

  async teardown(lab: string, state: LabState | null, progress: (line: string) => void): Promise<void> {
    // the management bridge and its veths (the lab's own, by its tag) go while the engine removes containers
    const links = deleteRootLinks(lab, [], progress);
    if (!(await engineAnswers(3000))) {
      await links;
      if (state?.backend === 'docker') {
        throw new QuicmeshError(
          `cannot remove lab ${lab}'s containers: no Docker engine answers at ${engineAddress()}; start it and run down again (the lab's state is kept)`,
        );
      }
      return; // no engine, no docker lab without state to sweep
    }
    const found = await labContainers(lab);
    const recorded = (state?.docker?.containers ?? []).map((c) => c.id ?? c.name);
    const ids = [...new Set([...found.map((c) => c.Id), ...recorded])];
    // nodes first: their pods' namespaces then have no user left
    const nodes = new Set(found.filter((c) => c.Labels[LABEL.role] === 'node').map((c) => c.Id));
    if (ids.length) progress(`  removing ${ids.length} container(s)`);
    await inParallel([...nodes], 8, removeContainer);
    await inParallel(
      ids.filter((id) => !nodes.has(id)),
      8,
      removeContainer,
    );
    // labs made before the management network was the lab's own bridge had a Docker network for it
    const nets = await docker().listNetworks({ filters: { label: [`${LABEL.lab}=${lab}`] } });
    const netIds = [...new Set([...nets.map((n) => n.Id), ...(state?.docker?.network?.id ? [state.docker.network.id] : [])])];
    for (const id of netIds) {
      try {
        await docker().getNetwork(id).remove();
      } catch (err) {
        if (statusOf(err) !== 404) throw new QuicmeshError(`removing network ${id.slice(0, 12)} failed: ${engineMessage(err)}`, { cause: err });
      }
    }
    if (netIds.length) progress(`  removed ${netIds.length} network(s)`);
    await links;
  }

  async listLabs(): Promise<string[]> {
    if (!engineIsLocal() || !(await engineAnswers(1000))) return [];
    const [containers, networks] = await Promise.all([
      docker().listContainers({ all: true, filters: { label: [LABEL.lab] } }),
      docker().listNetworks({ filters: { label: [LABEL.lab] } }),
    ]);
    const labs = new Set<string>();
    for (const c of containers) if (c.Labels[LABEL.lab]) labs.add(c.Labels[LABEL.lab]!);
    for (const n of networks) if (n.Labels?.[LABEL.lab]) labs.add(n.Labels[LABEL.lab]!);
    return [...labs].sort();
  }
}

registerBackend(
  'docker',
  () => new DockerBackend(),
  async (env) =>
    (env.platform ?? process.platform) === 'linux' && (env.uid ?? process.getuid?.()) === 0 && engineIsLocal() && (await engineAnswers(1000)),
);

export { DockerBackend };
