// @ts-check (tsconfig.json allows JS: bench/startup.ts imports this file)
// What both bin launchers share: which code to run, the compiled dist/ or the TypeScript sources.
// - An installed package has no sources: it runs dist/ (plain JavaScript, no loader).
// - A clone runs dist/ when `npm run build` wrote it after the last change to the sources, and the
//   sources through tsx otherwise, so an edit is never hidden behind a stale build. The check stats
//   every file and folder under src/ and cli/ (about 1 ms; `npm run bench -- --only=startup`).
// - QUICMESH_FROM_SOURCE=1 always runs the sources (tsx), e.g. to compare the two.
// Paths are resolved from this file's real location, so an npm bin symlink works too.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
const SOURCE_DIRS = ['src', 'cli'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/**
 * The newest mtime (ms) of the sources the build compiles: every file and folder under src/ and cli/
 * (a folder's mtime moves when a file in it is added, removed or renamed), and the compiler configs.
 * @param {string} [root]
 * @returns {number}
 */
export function newestSourceMtime(root = ROOT) {
  let newest = 0;
  const visit = (/** @type {string} */ dir) => {
    newest = Math.max(newest, statSync(dir).mtimeMs);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) visit(join(root, dir));
  for (const file of CONFIG_FILES)
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

/**
 * True when dist/ was built after the last change to the sources: dist/.build-stamp (written by
 * scripts/build.ts, dated when the build started) is not older than any of them.
 * @param {string} [root]
 * @returns {boolean}
 */
export function distIsFresh(root = ROOT) {
  const stamp = join(root, 'dist', '.build-stamp');
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestSourceMtime(root);
}

/**
 * Which file runs `program`: its compiled dist/ entry, or (fromSource) its TypeScript entry.
 * @param {'quicmesh' | 'quicmesh-lab'} program
 * @param {string} [root]
 * @param {Record<string, string | undefined>} [env]
 * @returns {{ entry: string; fromSource: boolean }}
 */
export function pickEntry(program, root = ROOT, env = process.env) {
  const source = join(root, 'cli', `${program}.ts`);
  const fromSource = existsSync(source) && (env.QUICMESH_FROM_SOURCE === '1' || !distIsFresh(root));
  return fromSource
    ? { entry: source, fromSource }
    : { entry: join(root, 'dist', 'cli', `${program}.js`), fromSource };
}

/**
 * Run a CLI's `main(argv)` from dist/ or the sources (see above) and set the exit code it returns.
 * @param {'quicmesh' | 'quicmesh-lab'} program
 * @returns {Promise<void>}
 */
export async function launch(program) {
  const { entry, fromSource } = pickEntry(program);
  if (fromSource) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
    } catch {
      process.stderr.write(
        `${program}: dist/ is missing or older than the sources, and tsx is not installed: run npm install (or npm run build)\n`,
      );
      process.exitCode = 1;
      return;
    }
  }
  const { main } = await import(pathToFileURL(entry).href);
  process.exitCode = await main(process.argv.slice(2));
}
