/**
 * A one-file build of the node binary for lab runs. bin/quicmesh.js runs the TypeScript sources through
 * tsx, which costs every process ~0.5 s of CPU (loader start-up, per-module resolution and transpile
 * hooks) before the node does anything: for 50 nodes on a small machine that is most of `up`. So each
 * `up` first bundles cli/quicmesh.ts with esbuild (the transpiler tsx itself uses, ~0.2 s) and starts the
 * nodes from that file. The bundle is rebuilt every time, so it is never stale. It lives under the
 * repository's node_modules/.cache, so its package imports resolve as the sources' do. Not minified and
 * without a source map: stack traces name the bundled functions, and each source file's part of it
 * starts with a `// path.ts` comment.
 * QUICMESH_LAB_TSX=1 skips it (nodes run through bin/quicmesh.js); so does any build failure.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { packagePath, runningCompiled } from '../shared/package-root.js';

/** The node binary's sources (a clone's: compiled, there is nothing to bundle). */
const nodeEntry = (): string => packagePath('cli', 'quicmesh.ts');
/** Where the bundle is written, beside the packages it imports. */
export const bundleFile = (): string =>
  packagePath('node_modules', '.cache', 'quicmesh-lab', 'quicmesh-node.mjs');

export type BundleResult = { command: string[]; elapsedMs: number } | { command: null; reason: string };

interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<{ errors: unknown[] }>;
}

/** Build the bundle; the argv prefix to start a node with, or why not (then use the default). */
export async function bundleNodeBinary(): Promise<BundleResult> {
  if (process.env.QUICMESH_LAB_TSX === '1') return { command: null, reason: 'QUICMESH_LAB_TSX=1' };
  // compiled (dist/ of a build or an installed package): the node binary is plain JavaScript already
  if (runningCompiled) return { command: null, reason: 'compiled' };
  const t0 = performance.now();
  // Written under a per-process name, then renamed: a concurrent `up` never starts a half-written file.
  const file = bundleFile();
  const tmp = `${file}.${process.pid}.tmp.mjs`;
  try {
    // esbuild ships with tsx (a dependency); loaded lazily so only `up`/`test` pay for it.
    const esbuild = (await import('esbuild' as string)) as EsbuildApi;
    mkdirSync(dirname(file), { recursive: true });
    await esbuild.build({
      entryPoints: [nodeEntry()],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
    });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    return { command: null, reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
  // argv[1] must be the bundle: the backend uses it to recognise its processes before killing them.
  return { command: [process.execPath, file], elapsedMs: performance.now() - t0 };
}
