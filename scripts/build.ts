/**
 * `npm run build` (also run by `npm install` in a clone, through `prepare`, and by `npm pack`):
 * src/ and cli/ into dist/, one ESM .js and one .d.ts per source file, the folder layout kept (a
 * module finds the package's other files at the same relative paths as in a clone, one level deeper).
 *   - tsc type-checks and writes the .d.ts files (tsconfig.build.json);
 *   - esbuild writes the JavaScript: the same per-file transform tsx applies when the tests and the
 *     CLIs run the sources, in 0.3 s, and without the comments (a quarter of tsc's output, which
 *     keeps them; the .d.ts files keep the doc comments). Not bundled: the verbs load lazily, a
 *     library user's bundler sees the modules, and paths taken from import.meta.url stay right.
 * Then adds what the compiled lab finds relative to itself, as it does in a clone:
 *   dist/bin/quicmesh.js             the node binary the lab starts (cli/runtime/netns/backend.ts)
 *   dist/native/nfq-delay/*.c        the delay helper's source it compiles (cli/runtime/wiring/shaping.ts)
 * and dist/.build-stamp, dated when the build started: bin/launch.js runs dist/ only while no source
 * is newer. A failed build leaves no dist/, so the launchers fall back to the sources.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const started = new Date();

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  await esbuild.build({
    entryPoints: ['src/**/*.ts', 'cli/**/*.ts', 'cli/**/*.tsx'].map((glob) => join(ROOT, glob)),
    outdir: DIST,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
} catch (error) {
  rmSync(DIST, { recursive: true, force: true });
  process.stderr.write(`build failed, dist/ removed${error instanceof Error ? `: ${error.message}` : ''}\n`);
  process.exit(1);
}

mkdirSync(join(DIST, 'bin'), { recursive: true });
writeFileSync(
  join(DIST, 'bin', 'quicmesh.js'),
  [
    '#!/usr/bin/env node',
    '// The compiled node binary, as the lab starts it from dist/ (written by scripts/build.ts).',
    "import { main } from '../cli/quicmesh.js';",
    '',
    'process.exitCode = await main(process.argv.slice(2));',
    '',
  ].join('\n'),
  { mode: 0o755 },
);
mkdirSync(join(DIST, 'native', 'nfq-delay'), { recursive: true });
copyFileSync(
  join(ROOT, 'native', 'nfq-delay', 'nfq-delay.c'),
  join(DIST, 'native', 'nfq-delay', 'nfq-delay.c'),
);

const stamp = join(DIST, '.build-stamp');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
process.stdout.write(`build: dist/ written (${((Date.now() - started.getTime()) / 1000).toFixed(1)} s)\n`);
