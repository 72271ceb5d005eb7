/**
 * Running host commands for the lab: execFile only (no shell), stdin for batches (`ip -batch -`,
 * `nft -f -`), and a check that the tools exist, naming the Debian package when one is missing.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LabCommandError, MissingToolError, NotRootError } from './errors.js';

/** Tool → the Debian package that ships it. */
export const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  tc: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  conntrack: 'conntrack',
  nice: 'coreutils',
  gcc: 'gcc',
  turnserver: 'coturn',
  turnutils_natdiscovery: 'coturn',
};

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
          if ((err as { code?: unknown }).code === 'ENOENT') {
            reject(new MissingToolError(cmd, TOOL_PACKAGES[cmd] ?? cmd));
            return;
          }
          reject(new LabCommandError(argv, stderr || err.message, code));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but never throws: for teardown, where "already gone" is fine. */
export async function tryRun(argv: string[], opts: { input?: string } = {}): Promise<boolean> {
  try {
    await run(argv, opts);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run argv at the lowest CPU priority: the lab's own housekeeping while probes are being timed (the
 * routers forgetting a pair's NAT state before each probe, up to 8 at once), so it takes the CPU
 * only when the nodes and probes it measures leave some.
 */
export function lowPriority(argv: string[]): string[] {
  return ['nice', '-n', '19', ...argv];
}

/** Run argv inside a namespace. */
export function nsArgv(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findTool(tool: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SBIN];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Throw MissingToolError for the first missing tool. */
export function requireTools(tools: string[]): void {
  for (const tool of tools) {
    if (!findTool(tool)) throw new MissingToolError(tool, TOOL_PACKAGES[tool] ?? tool);
  }
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new NotRootError('the netns lab backend needs root (network namespaces and NAT rules): run it with sudo');
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
