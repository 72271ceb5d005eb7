/**
 * The lab's images, built with no registry reachable:
 *   quicmesh-lab-router:<hash>  `docker import` of a rootfs: ip, nft, conntrack, a shell and busybox tools
 *   quicmesh-lab-base:<hash>    `docker import` of a rootfs: the host's Node.js and the same tools
 *                               (and glibc's librt/libutil/libanl stubs, for command nodes' native addons)
 *   quicmesh-lab-node:<hash>    FROM the base, the one-file node bundle and quiche's native addon (a build
 *                               with a local FROM: a code change rebuilds only this small layer)
 * Each tag is a hash of what went in, so a changed input builds a new image and an unchanged one is found
 * as it is (`ensureImages` is then a few inspects). Everything goes through dockerode.
 */
import { createRequire } from 'node:module';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { QuicmeshError } from '../../../src/errors.js';
import { docker, LABEL, engineMessage, statusOf } from './engine.js';
import { buildImageBundle } from './image-bundle.js';
import { type RootfsEntry, binaryEntries, findHostBinary, hashEntries, normalise, packEntries } from './rootfs.js';

export const IMAGE_REPOS = { router: 'quicmesh-lab-router', base: 'quicmesh-lab-base', node: 'quicmesh-lab-node' } as const;
export type ImageRole = keyof typeof IMAGE_REPOS;

/** Where things are inside the images. */
export const IN_IMAGE = {
  node: '/usr/local/bin/node',
  bundle: '/opt/quicmesh/quicmesh-node.mjs',
  dataDir: '/lab',
  sleep: '/bin/sleep',
} as const;

/** Bump to rebuild every image when the recipe (not its inputs) changes. */
const RECIPE = 'quicmesh-lab images v1';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * busybox applets linked into /bin when the host has busybox (Debian's busybox-static): the tools a user
 * reaches for in `exec`. The shell is dash: busybox's ash would run its own applets (its `ip`) before PATH.
 */
const BUSYBOX_APPLETS = [
  'sleep', 'cat', 'ls', 'ps', 'ping', 'nc', 'wget', 'echo', 'grep', 'head', 'tail', 'env', 'kill',
  'netstat', 'hostname', 'id', 'which', 'sysctl', 'top', 'vi', 'mkdir', 'rm', 'cp', 'mv', 'date', 'sed', 'awk', 'wc',
  'tr', 'uname', 'true', 'false', 'timeout', 'watch', 'less', 'dmesg', 'mount', 'df', 'du', 'free',
];

export interface ImageResult {
  role: ImageRole;
  /** repo:tag */
  ref: string;
  built: boolean;
  seconds: number;
  sizeBytes: number | null;
}

export interface ImageSet {
  node: string;
  router: string;
}

function literal(path: string, content: string, mode = 0o644): RootfsEntry {
  return { type: 'content', path, mode, content };
}

/** A shell and tools every lab image has: busybox applets when the host has busybox, else dash and coreutils. */
async function toolEntries(): Promise<RootfsEntry[]> {
  const out: RootfsEntry[] = [
    literal('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
    literal('/etc/group', 'root:x:0:\n'),
    { type: 'dir', path: '/tmp', mode: 0o1777 },
    { type: 'dir', path: '/root', mode: 0o700 },
  ];
  const busybox = findHostBinary('busybox');
  const shell = findHostBinary('dash');
  if (!shell) throw new QuicmeshError('image build: "dash" not found on this machine: install it with `apt-get install dash`');
  out.push(...(await binaryEntries(shell, '/bin/sh')));
  if (busybox) {
    out.push(...(await binaryEntries(busybox, '/bin/busybox')));
    for (const applet of BUSYBOX_APPLETS) out.push({ type: 'symlink', path: `/bin/${applet}`, target: 'busybox' });
  } else {
    for (const [name, path] of [['sleep', '/bin/sleep'], ['cat', '/bin/cat'], ['ls', '/bin/ls']] as const) {
      const host = findHostBinary(name);
      if (!host) throw new QuicmeshError(`image build: "${name}" not found on this machine (install busybox-static for a full toolbox)`);
      out.push(...(await binaryEntries(host, path)));
    }
  }
  for (const [name, pkg] of [['ip', 'iproute2'], ['ss', 'iproute2']] as const) {
    const host = findHostBinary(name);
    if (!host) throw new QuicmeshError(`image build: "${name}" not found on this machine: install it with \`apt-get install ${pkg}\``);
    out.push(...(await binaryEntries(host, `/sbin/${name}`)));
  }
  return out;
}

async function routerEntries(): Promise<RootfsEntry[]> {
  const out = await toolEntries();
  for (const [name, pkg] of [['nft', 'nftables'], ['conntrack', 'conntrack']] as const) {
    const host = findHostBinary(name);
    if (!host) throw new QuicmeshError(`image build: "${name}" not found on this machine: install it with \`apt-get install ${pkg}\``);
    out.push(...(await binaryEntries(host, `/sbin/${name}`)));
  }
  return out;
}

async function baseEntries(): Promise<RootfsEntry[]> {
  const node = await binaryEntries(process.execPath, IN_IMAGE.node);
  return [...(await toolEntries()), ...node, ...glibcStubs(node), { type: 'dir', path: IN_IMAGE.dataDir, mode: 0o700 }];
}

/**
 * glibc's compatibility libraries (empty since glibc 2.34, the functions moved into libc) that programs built
 * for older glibc still link: a command node's native addons find them (e.g. js-libp2p's QUIC needs librt).
 */
function glibcStubs(node: RootfsEntry[]): RootfsEntry[] {
  const libc = node.find((e) => e.path.endsWith('/libc.so.6'));
  if (!libc) return [];
  const dir = dirname(libc.path);
  return ['librt.so.1', 'libutil.so.1', 'libanl.so.1']
    .map((name) => join(dir, name))
    .filter((path) => existsSync(path))
    .map((path): RootfsEntry => ({ type: 'file', path, mode: 0o755, source: realpathSync(path) }));
}

/** quiche's native addon package for this platform, as files under /opt/quicmesh/node_modules. */
function nativeAddonEntries(): RootfsEntry[] {
  const pkg = `@matrixai/quic-${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new QuicmeshError(`image build: ${pkg} is not installed (run npm install)`);
  }
  const dir = dirname(manifest);
  const addon = (require(manifest) as { main?: string }).main ?? 'node.napi.node';
  const target = `/opt/quicmesh/node_modules/${pkg}`;
  return [
    { type: 'file', path: `${target}/package.json`, mode: 0o644, source: manifest },
    { type: 'file', path: `${target}/${addon}`, mode: 0o755, source: join(dir, addon) },
  ];
}

const tagOf = (hash: string) => hash.slice(0, 12);

async function imageSize(ref: string): Promise<number | null> {
  try {
    return (await docker().getImage(ref).inspect()).Size;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw new QuicmeshError(`inspecting image ${ref}: ${engineMessage(err)}`, { cause: err });
  }
}

/** Wait for an engine progress stream to end; an error message in it fails the build. */
function followProgress(stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker().modem.followProgress(
      stream,
      (err: Error | null, out: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = out?.find((o) => o.error);
        if (err) reject(err);
        else if (failed) reject(new QuicmeshError(failed.errorDetail?.message ?? failed.error ?? 'failed'));
        else resolve();
      },
      (event: { stream?: string; status?: string }) => {
        const text = (event.stream ?? event.status ?? '').trim();
        if (text && onLine) onLine(text);
      },
    );
  });
}

async function importRootfs(ref: string, role: ImageRole, tar: NodeJS.ReadableStream, cmd: string[]): Promise<void> {
  const [repo, tag] = ref.split(':') as [string, string];
  const stream = await docker().importImage(tar, {
    repo,
    tag,
    changes: [`ENV PATH=${PATH}`, `LABEL ${LABEL.image}=${role}`, `CMD ${JSON.stringify(cmd)}`],
  });
  await followProgress(stream);
}

/** `docker build` of the node layer: FROM the base, COPY the app files; the context is made in memory. */
async function buildNodeLayer(ref: string, baseRef: string, files: RootfsEntry[]): Promise<void> {
  const dockerfile = [`FROM ${baseRef}`, 'COPY opt/ /opt/', `LABEL ${LABEL.image}=node`, ''].join('\n');
  const context = packEntries([...files, literal('/Dockerfile', dockerfile)]);
  const stream = await docker().buildImage(context, { t: ref, rm: true, forcerm: true });
  await followProgress(stream);
}

/**
 * Build the images that are missing (all with `force`; none with `check`, which only reports what is missing);
 * progress lines via `say`.
 */
export async function ensureImages(
  opts: { force?: boolean; check?: boolean; say?: (line: string) => void } = {},
): Promise<{ images: ImageSet; results: ImageResult[] }> {
  const say = opts.say ?? (() => {});
  const results: ImageResult[] = [];
  const step = async (role: ImageRole, entries: RootfsEntry[], make: (ref: string) => Promise<void>): Promise<string> => {
    const t0 = performance.now();
    const ref = `${IMAGE_REPOS[role]}:${tagOf(await hashEntries([literal('/.recipe', `${RECIPE} ${role}`), ...entries]))}`;
    let size = opts.force ? null : await imageSize(ref);
    const built = size === null && !opts.check;
    if (opts.check) {
      results.push({ role, ref, built: false, seconds: 0, sizeBytes: size });
      return ref;
    }
    if (built) {
      say(`image ${ref}: building (${entries.length} files)`);
      try {
        await make(ref);
      } catch (err) {
        throw new QuicmeshError(`building image ${ref} failed: ${engineMessage(err)}`, { cause: err });
      }
      size = await imageSize(ref);
    }
    const seconds = (performance.now() - t0) / 1000;
    results.push({ role, ref, built, seconds, sizeBytes: size });
    say(`image ${ref}: ${built ? `built in ${seconds.toFixed(1)} s` : 'up to date'}${size ? ` (${(size / 1e6).toFixed(0)} MB)` : ''}`);
    return ref;
  };

  const router = await routerEntries();
  const routerRef = await step('router', router, (ref) => importRootfs(ref, 'router', packEntries(router), [IN_IMAGE.sleep, 'infinity']));
  const base = await baseEntries();
  const baseRef = await step('base', base, (ref) => importRootfs(ref, 'base', packEntries(base), [IN_IMAGE.node]));
  const bundle = await buildImageBundle();
  const app: RootfsEntry[] = normalise([
    literal('/.base', baseRef),
    { type: 'file', path: IN_IMAGE.bundle, mode: 0o644, source: bundle.file },
    ...nativeAddonEntries(),
  ]);
  const nodeRef = await step('node', app, (ref) => buildNodeLayer(ref, baseRef, app.filter((e) => e.path.startsWith('/opt/'))));
  return { images: { node: nodeRef, router: routerRef }, results };
}

/** Images of the lab's repositories on the engine, with whether a container uses them. */
export async function listLabImages(): Promise<Array<{ ref: string; id: string; sizeBytes: number; inUse: boolean }>> {
  const [images, containers] = await Promise.all([
    docker().listImages({ filters: { label: [LABEL.image] } }),
    docker().listContainers({ all: true }),
  ]);
  const used = new Set(containers.map((c) => c.ImageID));
  return images.flatMap((img) =>
    (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>').map((ref) => ({ ref, id: img.Id, sizeBytes: img.Size, inUse: used.has(img.Id) })),
  );
}

/** Remove the lab's images that are neither current nor used by a container; returns the refs removed. */
export async function pruneLabImages(current: ImageSet & { base?: string }): Promise<string[]> {
  const keep = new Set([current.node, current.router, ...(current.base ? [current.base] : [])]);
  const removed: string[] = [];
  // the node layer sits on a base: remove node images first
  const order = (ref: string) => (ref.startsWith(`${IMAGE_REPOS.node}:`) ? 0 : 1);
  for (const img of (await listLabImages()).sort((a, b) => order(a.ref) - order(b.ref))) {
    if (keep.has(img.ref) || img.inUse) continue;
    try {
      await docker().getImage(img.ref).remove();
      removed.push(img.ref);
    } catch (err) {
      if (statusOf(err) !== 409 && statusOf(err) !== 404) throw new QuicmeshError(`removing image ${img.ref}: ${engineMessage(err)}`, { cause: err });
    }
  }
  return removed;
}
