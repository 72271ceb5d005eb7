/**
 * `npm run build` (also run by `npm install` in a clone, through `prepare`, and by `npm pack`):
 * src/ and cli/ into dist/, one ESM .js per source file, the folder layout kept (a
 * module finds the package's other files at the same relative paths as in a clone, one level deeper).
 *   - tsc type-checks and writes one .d.ts per source file (tsconfig.build.json) to a scratch folder;
 *     rollup-plugin-dts rolls them up into one declaration file per entry point (the library, the
 *     topology subpath) holding only what those entries reach: a third of the per-file set, gzipped,
 *     and no internal module a user could import types from by path;
 *   - esbuild writes the JavaScript: the same per-file transform tsx applies when the tests and the
 *     CLIs run the sources, in 0.3 s, without comments and with whitespace minified (names kept; the
 *     declarations keep the doc comments). Not bundled: the verbs load lazily, a
 *     library user's bundler sees the modules, and paths taken from import.meta.url stay right.
 *   - the CLIs' parser, yargs, is bundled into dist/vendor/yargs.js (scripts/bundle-cli-parser.ts):
 *     half the start-up time of `--help`.
 * Then adds what the compiled lab finds relative to itself, as it does in a clone:
 *   dist/bin/quicmesh.js             the node binary the lab starts (cli/runtime/netns/backend.ts)
 *   dist/native/nfq-delay/*.c        the delay helper's source it compiles (cli/runtime/wiring/shaping.ts)
 * and dist/.build-stamp, dated when the build started: bin/launch.js runs dist/ only while no source
 * is newer. A failed build leaves no dist/, so the launchers fall back to the sources.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import { bundleCliParser } from './bundle-cli-parser.js';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const TYPES_SCRATCH = join(DIST, '.types');
/** Entry points whose declarations ship, each rolled up into the .d.ts that package.json's `types` names. */
const TYPE_ENTRIES = ['src/index', 'cli/topology/index'];
const started = new Date();

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', TYPES_SCRATCH], {
    stdio: 'inherit',
  });
  for (const entry of TYPE_ENTRIES) {
    const bundle = await rollup({
      input: join(TYPES_SCRATCH, `${entry}.d.ts`),
      plugins: [dts()],
      // packages stay imports; only the project's own modules are rolled in
      external: (id) => !id.startsWith('.') && !id.startsWith('/'),
      onwarn: (warning) => process.stderr.write(`build: ${entry}.d.ts: ${warning.message}\n`),
    });
    const file = join(DIST, `${entry}.d.ts`);
    await bundle.write({ file, format: 'es' });
    await bundle.close();
    // a private member's doc comment helps no user of the package (2 kB of the gzipped tarball)
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\/\*\*(?:(?!\*\/)[\s\S])*?\*\/\s*(?=private )/g, ''));
  }
  rmSync(TYPES_SCRATCH, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: ['src/**/*.ts', 'cli/**/*.ts', 'cli/**/*.tsx'].map((glob) => join(ROOT, glob)),
    outdir: DIST,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.json'),
    // whitespace and syntax only: names stay as written (stack traces and error names read as in the
    // sources); this is what keeps the packed tarball under 400 kB
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
  await bundleCliParser(ROOT, DIST);
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
