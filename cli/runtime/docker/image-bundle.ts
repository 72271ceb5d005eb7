/**
 * The node binary as one self-contained ESM file for the node image: cli/quicmesh.ts with every package
 * bundled in (esbuild), only quiche's native addon left to load from node_modules beside it. esbuild runs
 * only when an input changed: the inputs of the last build (its metafile) and their content hash are kept,
 * so an unchanged tree costs a hash of ~300 small files instead of a build. Each clone (worktree) has its
 * own: the record names the files of the clone that built it, so a shared one would hand a clone another
 * clone's node as long as that clone's files did not change.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QuicmeshError } from '../../../src/errors.js';
import { packagePath, packageRoot, runningCompiled } from '../../shared/package-root.js';
import { stateRoot } from '../state.js';

/** The node binary's entry: the sources in a clone; the compiled file in dist/ (a build, or an installed package). */
const nodeEntry = (): string => (runningCompiled ? packagePath('dist', 'cli', 'quicmesh.js') : packagePath('cli', 'quicmesh.ts'));

interface EsbuildApi {
  version: string;
  build(options: Record<string, unknown>): Promise<{ errors: unknown[]; metafile?: { inputs: Record<string, unknown> } }>;
}

interface BundleRecord {
  inputs: string[];
  inputsHash: string;
}

/** The inputs' content, the esbuild version and the entry: a clone runs dist/ or its sources (bin/launch.js). */
function hashInputs(files: string[], esbuildVersion: string, entry: string): string | null {
  const h = createHash('sha256').update(`esbuild ${esbuildVersion}\0${entry}\0`);
  for (const f of files) {
    if (!existsSync(f)) return null;
    h.update(f).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

/** Where the bundle of the clone at `repo` is kept, under the state root `root`. */
export function bundleDir(root: string, repo: string): string {
  return join(root, '.images', 'bundle', createHash('sha256').update(resolve(repo)).digest('hex').slice(0, 16));
}

export async function buildImageBundle(): Promise<{ file: string; rebuilt: boolean }> {
  const repo = packageRoot();
  const dir = bundleDir(stateRoot(), repo);
  const file = join(dir, 'quicmesh-node.mjs');
  const recordFile = join(dir, 'inputs.json');
  let esbuild: EsbuildApi;
  try {
    esbuild = (await import('esbuild' as string)) as EsbuildApi;
  } catch (err) {
    throw new QuicmeshError('image build: esbuild is not installed (run npm install)', { cause: err });
  }
  if (existsSync(file) && existsSync(recordFile)) {
    const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as BundleRecord;
    // the entry counts too: a bundle of an unchanged dist/ must not stand in for newer sources
    if (hashInputs(rec.inputs, esbuild.version, nodeEntry()) === rec.inputsHash) return { file, rebuilt: false };
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp.mjs`;
  try {
    const result = await esbuild.build({
      entryPoints: [nodeEntry()],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
      metafile: true,
      absWorkingDir: repo,
      // CommonJS packages inside an ESM bundle call require(): give them Node's
      banner: { js: "import { createRequire as __quicmeshRequire } from 'node:module'; const require = __quicmeshRequire(import.meta.url);" },
    });
    renameSync(tmp, file);
    const inputs = Object.keys(result.metafile?.inputs ?? {}).map((p) => resolve(repo, p)).sort();
    const inputsHash = hashInputs(inputs, esbuild.version, nodeEntry());
    if (inputsHash) writeFileSync(recordFile, JSON.stringify({ inputs, inputsHash } satisfies BundleRecord));
    return { file, rebuilt: true };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new QuicmeshError(`image build: bundling the node failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { cause: err });
  }
}
