/**
 * Root filesystems for the lab's images, assembled from this machine's own binaries and the libraries
 * they load (ldd), so no registry is ever needed. A rootfs is a list of entries (a host file copied to a
 * path, or literal content); its identity is a hash over every entry's path, mode and content, so a changed
 * input makes a new image and an unchanged one is found as it is. Content hashes of host files are cached
 * by (inode, size, mtime): the ~100 MB node binary is hashed once, not on every `up`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { ConfigError } from '../../../src/errors.js';
import { stateRoot } from '../state.js';

export type RootfsEntry =
  | { type: 'file'; path: string; mode: number; source: string }
  | { type: 'content'; path: string; mode: number; content: string | Buffer }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

/** Library paths (the loader included) from `ldd` output. Pure. */
export function parseLdd(output: string): string[] {
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(0x/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const missing = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (missing) throw new ConfigError(`a library is missing on this machine: ${missing[1]}`);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) paths.add(path);
  }
  return [...paths];
}

/** ldd of a file, cached by (inode, size, mtime) of the file: ~30 ms per call otherwise, a dozen per check. */
async function lddOf(file: string): Promise<string[]> {
  const st = statSync(file);
  const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
  const cache = loadJson<Record<string, { key: string; libs: string[] }>>(lddCacheFile());
  const hit = cache[file];
  if (hit?.key === key && hit.libs.every((l) => existsSync(l))) return hit.libs;
  const libs = await runLdd(file);
  cache[file] = { key, libs };
  saveJson(lddCacheFile(), cache);
  return libs;
}

function runLdd(file: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    execFile('ldd', [file], { encoding: 'utf8' }, (err, stdout) => {
      // static binaries: ldd says "not a dynamic executable" and exits 1
      if (err && /not a dynamic executable|statically linked/.test(stdout + String(err))) return resolve([]);
      if (err) return reject(new ConfigError(`ldd ${file} failed: ${err.message}`));
      try {
        resolve(parseLdd(stdout));
      } catch (e) {
        reject(e as Error);
      }
    }),
  );
}

/**
 * A host binary at `imagePath` (default: its own path) and every library it loads, each at the path the loader
 * looks for it. Libraries are copied dereferenced (Debian's /lib is a symlink into /usr/lib).
 */
export async function binaryEntries(hostPath: string, imagePath = hostPath): Promise<RootfsEntry[]> {
  if (!existsSync(hostPath)) throw new ConfigError(`${hostPath} does not exist on this machine`);
  const libs = await lddOf(hostPath);
  return [
    { type: 'file', path: imagePath, mode: 0o755, source: realpathSync(hostPath) },
    ...libs.map((lib): RootfsEntry => ({ type: 'file', path: lib, mode: 0o755, source: realpathSync(lib) })),
  ];
}

/** The first of `names` found in the usual bin directories, or null. */
export function findHostBinary(...names: string[]): string | null {
  for (const name of names) {
    for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Entries sorted and de-duplicated by path (the last one wins), so the hash does not depend on assembly order. */
export function normalise(entries: RootfsEntry[]): RootfsEntry[] {
  const byPath = new Map<string, RootfsEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface CacheRecord {
  ino: number;
  size: number;
  mtimeMs: number;
  sha256: string;
}

function cacheFile(): string {
  return join(stateRoot(), '.images', 'content-hashes.json');
}

function lddCacheFile(): string {
  return join(stateRoot(), '.images', 'ldd.json');
}

function loadJson<T extends object>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return {} as T; // absent or torn: rebuilt as needed
  }
}

function saveJson(file: string, value: object): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file);
}

function loadCache(): Record<string, CacheRecord> {
  return loadJson<Record<string, CacheRecord>>(cacheFile());
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The identity of a rootfs: sha256 over each entry's path, kind, mode and content. */
export async function hashEntries(entries: RootfsEntry[]): Promise<string> {
  const cache = loadCache();
  let changed = false;
  const h = createHash('sha256');
  for (const e of normalise(entries)) {
    h.update(`${e.type}\0${e.path}\0`);
    if (e.type === 'symlink') h.update(`${e.target}\0`);
    else h.update(`${e.mode.toString(8)}\0`);
    if (e.type === 'content') h.update(createHash('sha256').update(e.content).digest('hex'));
    if (e.type === 'file') {
      const st = statSync(e.source);
      const hit = cache[e.source];
      let sum = hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs ? hit.sha256 : null;
      if (!sum) {
        sum = await sha256File(e.source);
        cache[e.source] = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, sha256: sum };
        changed = true;
      }
      h.update(sum);
    }
  }
  if (changed) saveJson(cacheFile(), cache);
  return h.digest('hex');
}

/** Every parent directory of the entries that is not an entry itself. */
function parentDirs(entries: RootfsEntry[]): string[] {
  const have = new Set(entries.map((e) => e.path));
  const dirs = new Set<string>();
  for (const e of entries) {
    for (let d = dirname(e.path); d !== '/' && d !== '.'; d = dirname(d)) if (!have.has(d)) dirs.add(d);
  }
  return [...dirs].sort();
}

/** The rootfs as a tar stream (paths relative to /, parents first). */
export function packEntries(entries: RootfsEntry[]): PassThrough {
  const tar = pack();
  const all = normalise(entries);
  const write = async (): Promise<void> => {
    const add = (header: Parameters<typeof tar.entry>[0], body?: string | Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        tar.entry(header, body ?? '', (err) => (err ? reject(err) : resolve()));
      });
    for (const d of parentDirs(all)) await add({ name: d.slice(1), type: 'directory', mode: 0o755 });
    for (const e of all) {
      const name = e.path.slice(1);
      if (e.type === 'dir') await add({ name, type: 'directory', mode: e.mode });
      else if (e.type === 'symlink') await add({ name, type: 'symlink', linkname: e.target });
      else if (e.type === 'content') await add({ name, mode: e.mode }, e.content);
      else {
        const size = statSync(e.source).size;
        await new Promise<void>((resolve, reject) => {
          const sink = tar.entry({ name, mode: e.mode, size }, (err) => (err ? reject(err) : resolve()));
          const src = createReadStream(e.source);
          src.once('error', reject);
          src.pipe(sink);
        });
      }
    }
    tar.finalize();
  };
  // a plain Node stream for dockerode (tar-stream's is a streamx stream)
  const out = new PassThrough();
  tar.pipe(out);
  write().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}
