/**
 * `npm run build` (also run by `npm install` in a clone, through `prepare`, and by `npm pack`):
 * src/ and cli/ into dist/.
 *   - tsc type-checks and writes one .d.ts per source file (tsconfig.build.json) to a scratch folder;
 *     rollup-plugin-dts rolls them up into one declaration file per entry point (the library, the
 *     topology subpath) holding only what those entries reach: a third of the per-file set, gzipped,
 *     and no internal module a user could import types from by path. Doc comments are kept.
 *   - esbuild bundles the JavaScript: one file per entry point (dist/src/index.js, dist/cli/topology/index.js,
 *     dist/cli/quicmesh-lab.js, dist/cli/quicmesh.js, where package.json and the launchers look) and the
 *     chunks they share (dist/chunks/), split so that an entry loads only what it reaches and a verb's
 *     modules, imported on first use, stay in chunks of their own. Packages stay imports from
 *     node_modules (a library user's bundler or Node resolves them), except the CLIs' parser, yargs,
 *     bundled in with a lighter string width (scripts/bundle-cli-parser.ts): half the start-up time of
 *     `--help`. Minified, which with ~55 files instead of ~290 keeps the packed tarball under 400 kB; names
 *     kept (keepNames), since errors name themselves after their class (src/errors.ts).
 *     Bundled, a module's import.meta.url is its chunk's: modules that read package files find them from
 *     the package root (cli/shared/package-root.ts).
 * Then adds what the compiled lab needs and the package does not ship otherwise:
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
import { cliParserPlugin } from './bundle-cli-parser.js';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const TYPES_SCRATCH = join(DIST, '.types');
/** Entry points whose declarations ship, each rolled up into the .d.ts that package.json's `types` names. */
const TYPE_ENTRIES = ['src/index', 'cli/topology/index'];
/** Entry points of the JavaScript: the library, its topology subpath and the two command lines. */
const JS_ENTRIES = [...TYPE_ENTRIES, 'cli/quicmesh-lab', 'cli/quicmesh'];
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
    entryPoints: JS_ENTRIES.map((entry) => join(ROOT, `${entry}.ts`)),
    outdir: DIST,
    outbase: ROOT,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.json'),
    // packages stay imports from node_modules, except the CLIs' parser (scripts/bundle-cli-parser.ts)
    plugins: [cliParserPlugin],
    minify: true,
    // class and function names as written: errors name themselves from their class (src/errors.ts)
    keepNames: true,
    // the licence notices of the bundled packages (yargs-parser's), once, at the end of its chunk
    legalComments: 'eof',
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
