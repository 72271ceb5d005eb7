/**
 * The command-line parser of the compiled CLIs, bundled into one file (dist/vendor/yargs.js) by
 * `npm run build`. Loading yargs from node_modules means ~40 modules resolved and read at every start,
 * and its help layout measures every word with string-width, whose grapheme segmentation and emoji
 * tables cost more than the rest of `--help` together (CPU profile: ~90 ms of ~280 ms). The bundle is
 * one file, and its string widths are counted by code points: the only text yargs lays out is our own
 * help, English without wide characters. `dist/cli/shared/run-cli.js` is pointed at the bundle, so the
 * installed package needs no yargs at run time; a clone running the sources (tsx, vitest) uses the
 * real yargs from node_modules.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

/** ANSI escape sequences (colour, cursor), which take no columns. */
const STRING_WIDTH_MODULE = `
const ESCAPES = /\\u001b\\[[0-9;?]*[ -/]*[@-~]|\\u001b\\][^\\u0007]*\\u0007/g;
const ZERO_WIDTH = /[\\p{M}\\u200b-\\u200f\\ufeff]/u;
export default function stringWidth(text) {
  if (typeof text !== 'string') return 0;
  let width = 0;
  for (const ch of text.replace(ESCAPES, '')) if (!ZERO_WIDTH.test(ch) && ch >= ' ') width += 1;
  return width;
}
`;

/** Where yargs looks for its translations, relative to its own file; from the bundle, a folder of ours. */
const LOCALES_FROM_SHIM = "resolve(__dirname, '../../../locales')";

export async function bundleCliParser(root: string, dist: string): Promise<void> {
  const outfile = join(dist, 'vendor', 'yargs.js');
  await esbuild.build({
    stdin: { contents: "export { default } from 'yargs';", resolveDir: root, loader: 'js' },
    bundle: true,
    outfile,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // third-party code, read by nobody: fully minified
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [
      {
        name: 'quicmesh-cli-parser',
        setup(build) {
          build.onResolve({ filter: /^string-width$/ }, () => ({ path: 'string-width', namespace: 'code-point-width' }));
          build.onLoad({ filter: /.*/, namespace: 'code-point-width' }, () => ({ contents: STRING_WIDTH_MODULE, loader: 'js' }));
          // English only: the help text around yargs' own words is ours, and in English
          build.onLoad({ filter: /yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, ({ path }) => {
            const source = readFileSync(path, 'utf8');
            if (!source.includes(LOCALES_FROM_SHIM)) throw new Error(`${path}: yargs no longer reads its locales as expected`);
            return { contents: source.replace(LOCALES_FROM_SHIM, "resolve(__dirname, '../locales-none')"), loader: 'js' };
          });
        },
      },
    ],
  });
  // the one module that imports yargs, pointed at the bundle
  const runCli = join(dist, 'cli', 'shared', 'run-cli.js');
  const compiled = readFileSync(runCli, 'utf8');
  const imports = compiled.match(/from\s*"yargs"/g) ?? [];
  if (imports.length !== 1) throw new Error(`${runCli}: expected one import of yargs, found ${imports.length}`);
  writeFileSync(runCli, compiled.replace(/from\s*"yargs"/, 'from"../../vendor/yargs.js"'));
}
