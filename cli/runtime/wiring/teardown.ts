/**
 * Removing a lab's namespaces, on every backend: kill the host processes the lab started (recorded in its
 * state) and whatever else runs inside its namespaces, then delete the namespaces. Works from the state
 * file and, independently, from a sweep of namespaces with the lab's prefix, so a crashed or half-built lab
 * is removed too.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { LabState, ProcessRecord } from '../state.js';
import { run, tryRun } from '../exec.js';
import { nsPrefix, rootIfPrefix } from '../names.js';

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export async function listRootLinks(): Promise<string[]> {
  const { stdout } = await run(['ip', '-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process that exited but is not reaped yet (a zombie) still takes signals. Once `up` has exited,
  // its nodes belong to PID 1, which may reap them late (seconds, in some containers): count it as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string {
  const f = `/proc/${pid}/cmdline`;
  try {
    return existsSync(f) ? readFileSync(f, 'utf8').replace(/\0/g, ' ') : '';
  } catch {
    return '';
  }
}

/** A network namespace's identity (device and inode of its nsfs file), or null when it is gone. */
function nsKey(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Whether a process runs in a named network namespace. */
export function inNamespace(pid: number, ns: string): boolean {
  const key = nsKey(`/proc/${pid}/ns/net`);
  return key !== null && key === nsKey(`/run/netns/${ns}`);
}

/**
 * Processes running in any of the named namespaces: one pass over /proc, comparing namespace identities
 * (what `ip netns pids` does for one namespace, without a process per namespace).
 */
export function pidsInNamespaces(namespaces: readonly string[]): number[] {
  const wanted = new Set(namespaces.map((ns) => nsKey(`/run/netns/${ns}`)).filter((k) => k !== null));
  if (!wanted.size) return [];
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && wanted.has(nsKey(`/proc/${e}/ns/net`) ?? ''))
    .map(Number);
}

/** Delete the lab's root-namespace interfaces (its management bridge and veths): by its tag, and as recorded. */
export async function deleteRootLinks(lab: string, recorded: readonly string[], progress: (l: string) => void): Promise<void> {
  const prefix = rootIfPrefix(lab);
  const links = (await listRootLinks()).filter((l) => l.startsWith(prefix) || recorded.includes(l));
  if (!links.length) return;
  progress(`  deleting ${links.length} root interface(s)`);
  await tryRun(['ip', '-force', '-batch', '-'], { input: links.map((l) => `link del ${l}`).join('\n') + '\n' });
}

/** SIGTERM, wait (bounded) for exit, then SIGKILL. Only pids we know are ours are passed here. */
export async function killAll(pids: number[], graceMs = 3000): Promise<void> {
  const live = pids.filter(alive);
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + graceMs;
  while (live.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  for (const pid of live.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Stop recorded processes that still run what was recorded (a recycled pid is never hit). */
export async function stopRecorded(records: ProcessRecord[]): Promise<void> {
  await killAll(records.filter((p) => alive(p.pid) && cmdline(p.pid).includes(p.cmdlineMark)).map((p) => p.pid));
}

export async function teardownNamespaces(lab: string, state: LabState | null, progress: (l: string) => void): Promise<void> {
  // 1. processes recorded in the state file, if the pid still runs what we started
  const recorded = (state?.processes ?? []).filter((p) => alive(p.pid) && cmdline(p.pid).includes(p.cmdlineMark)).map((p) => p.pid);
  // 2. whatever else still runs inside the lab's namespaces (they only hold lab processes)
  const prefix = nsPrefix(lab);
  const existing = await listNamespaces();
  const namespaces = [...new Set([...(state?.namespaces ?? []), ...existing.filter((n) => n.startsWith(prefix))])].filter((n) =>
    existing.includes(n),
  );
  const inside = pidsInNamespaces(namespaces);
  const pids = [...new Set([...recorded, ...inside])].filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
  if (pids.length) {
    progress(`  stopping ${pids.length} process(es)`);
    await killAll(pids);
  }
  if (namespaces.length) {
    progress(`  deleting ${namespaces.length} namespace(s)`);
    await tryRun(['ip', '-force', '-batch', '-'], { input: namespaces.map((n) => `netns del ${n}`).join('\n') + '\n' });
  }
}
