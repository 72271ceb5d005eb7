/**
 * The docker backend's containers, as Kubernetes runs pods:
 *   router  qm-<lab>_r_<name>   the router image, NET_ADMIN, no network of Docker's (its wan0/lan0 are the lab's)
 *   pod     qm-<lab>_h_<name>   holds a host's network namespace (on no Docker network)
 *   node    qm-<lab>_<name>     the node process, sharing its pod's network namespace, its data dir at /lab
 * A pod's namespace outlives its node container, so stopping and starting a node keeps its links, addresses
 * and shaping. Each router and pod namespace gets the lab's name for it on the host (`ip netns attach`),
 * so the shared wiring reaches it as it reaches a netns machine.
 */
import type Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { QuicmeshError } from '../../../src/errors.js';
import { run } from '../exec.js';
import { docker, engineMessage, LABEL, statusOf } from './engine.js';
import { IN_IMAGE } from './images.js';

export type ContainerRole = 'router' | 'pod' | 'node';

export function nodeContainerName(lab: string, node: string): string {
  return `qm-${lab}_${node}`;
}

export function labels(lab: string, role: ContainerRole, machine: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL.lab]: lab, [LABEL.role]: role, [LABEL.machine]: machine, ...extra };
}

/** Run at most `limit` of `fn` at once (the engine serialises much of container creation anyway). */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === null) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== null) throw failed;
  return out;
}

/** The last lines a container wrote (stdout and stderr), for error messages; never throws. */
export async function containerTail(name: string, lines = 15): Promise<string> {
  try {
    const buf = (await docker().getContainer(name).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    const { demuxAll } = await import('./streams.js');
    const { stdout, stderr } = demuxAll(buf);
    return (stdout + stderr).trimEnd() || '(no output)';
  } catch (err) {
    return `(no log: ${engineMessage(err)})`;
  }
}

/** Create a container (not started); returns its id. */
export async function createContainer(opts: Docker.ContainerCreateOptions & { name: string }): Promise<string> {
  try {
    return (await docker().createContainer(opts)).id;
  } catch (err) {
    throw new QuicmeshError(`creating container ${opts.name} failed: ${engineMessage(err)}`, { cause: err });
  }
}

/** Create and start a container; returns its id and main process pid. A container that exits at once fails here. */
export async function startContainer(opts: Docker.ContainerCreateOptions & { name: string }): Promise<{ id: string; pid: number }> {
  const container = docker().getContainer(await createContainer(opts));
  try {
    await container.start();
  } catch (err) {
    throw new QuicmeshError(`starting container ${opts.name} failed: ${engineMessage(err)}`, { cause: err });
  }
  const info = await container.inspect();
  if (!info.State.Running || !info.State.Pid) {
    throw new QuicmeshError(
      `container ${opts.name} exited at once (code ${info.State.ExitCode}); its output ends:\n${await containerTail(opts.name)}`,
    );
  }
  return { id: info.Id, pid: info.State.Pid };
}

/**
 * Give running containers' network namespaces the lab's names for them on the host (replacing stale ones of
 * those names): one `ip -batch` for all of them.
 */
export async function attachNamespaces(machines: ReadonlyArray<{ ns: string; pid: number }>): Promise<void> {
  const lines = machines.flatMap(({ ns, pid }) => [...(existsSync(`/run/netns/${ns}`) ? [`netns del ${ns}`] : []), `netns attach ${ns} ${pid}`]);
  if (lines.length) await run(['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/**
 * What a router and a pod share: a container that only holds its network namespace (sleep under tini),
 * labelled with the lab, with its machine's data directory at /lab.
 */
function holderSpec(
  lab: string,
  role: 'router' | 'pod',
  name: string,
  container: string,
  image: string,
  dataDir: string,
  hostConfig: Docker.HostConfig,
): Docker.ContainerCreateOptions & { name: string } {
  return {
    name: container,
    Image: image,
    Hostname: name,
    Cmd: [IN_IMAGE.sleep, 'infinity'],
    WorkingDir: IN_IMAGE.dataDir,
    Labels: labels(lab, role, name),
    HostConfig: { ...hostConfig, Init: true, Binds: [`${dataDir}:${IN_IMAGE.dataDir}`] },
  };
}

/** Router container options. */
export function routerSpec(lab: string, name: string, container: string, image: string, dataDir: string): Docker.ContainerCreateOptions & { name: string } {
  return holderSpec(lab, 'router', name, container, image, dataDir, {
    NetworkMode: 'none',
    CapAdd: ['NET_ADMIN'],
    Sysctls: { 'net.ipv4.ip_forward': '1' },
  });
}

/**
 * Pod container options: on no Docker network. Its interfaces are the lab's veths (data link eth0, management
 * mgmt0 to the lab's bridge), made from the host as on netns: no engine endpoint, no engine firewall work.
 */
export function podSpec(lab: string, name: string, container: string, image: string, dataDir: string): Docker.ContainerCreateOptions & { name: string } {
  return holderSpec(lab, 'pod', name, container, image, dataDir, { NetworkMode: 'none' });
}

/**
 * The node container's argv and extra mounts: the host's Node.js becomes the image's, and a host file the argv
 * names by absolute path (a test's stand-in node, a user's script) is mounted read-only at the same path.
 */
export function nodeCommandInImage(argv: string[], hostNode = process.execPath, mounted: readonly string[] = []): { cmd: string[]; binds: string[] } {
  const binds = new Set<string>();
  const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/+$/, '')}/`);
  const cmd = argv.map((a, i) => {
    if (i === 0 && a === hostNode) return IN_IMAGE.node;
    if (
      a.startsWith('/') &&
      !a.startsWith(`${IN_IMAGE.dataDir}/`) &&
      !a.startsWith('/opt/quicmesh/') &&
      !mounted.some((dir) => under(a, dir)) &&
      existsSync(a)
    )
      binds.add(`${a}:${a}:ro`);
    return a;
  });
  return { cmd, binds: [...binds] };
}

/**
 * Node container options. A command node (issue 14) adds its environment and the host directories its
 * program reads (mounted read-only at the same path), and may run in an image of its own.
 */
export function nodeSpec(
  lab: string,
  name: string,
  image: string,
  podId: string,
  argv: string[],
  dataDir: string,
  program: { env?: Record<string, string>; mounts?: string[] } = {},
): Docker.ContainerCreateOptions & { name: string } {
  const mounts = (program.mounts ?? []).filter((dir) => existsSync(dir));
  const { cmd, binds } = nodeCommandInImage(argv, process.execPath, mounts);
  return {
    name: nodeContainerName(lab, name),
    Image: image,
    Cmd: cmd,
    WorkingDir: IN_IMAGE.dataDir,
    Labels: labels(lab, 'node', name),
    ...(program.env ? { Env: Object.entries(program.env).map(([k, v]) => `${k}=${v}`) } : {}),
    HostConfig: {
      NetworkMode: `container:${podId}`,
      Init: true,
      Binds: [`${dataDir}:${IN_IMAGE.dataDir}`, ...mounts.map((dir) => `${dir}:${dir}:ro`), ...binds],
    },
  };
}

/** Containers of a lab (all states), by label. */
export async function labContainers(lab: string): Promise<Docker.ContainerInfo[]> {
  return docker().listContainers({ all: true, filters: { label: [`${LABEL.lab}=${lab}`] } });
}

/** Remove a container by name or id; gone already is fine. */
export async function removeContainer(nameOrId: string): Promise<void> {
  try {
    await docker().getContainer(nameOrId).remove({ force: true, v: true });
  } catch (err) {
    if (statusOf(err) !== 404 && !/removal .* already in progress/.test(engineMessage(err))) throw err;
  }
}
