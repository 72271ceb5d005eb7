/**
 * The command-line parser of the compiled CLIs, yargs, bundled into the build's chunks (an esbuild
 * plugin for scripts/build.ts), so the installed package needs no yargs at run time and a start reads
 * no yargs modules from node_modules. Loading yargs from node_modules means ~40 modules resolved and
 * read at every start, and its help layout measures every word with string-width, whose grapheme
 * segmentation and emoji tables cost more than the rest of `--help` together (CPU profile: ~90 ms of
 * ~280 ms). In the bundle, string widths are counted by code points: the only text yargs lays out is
 * our own help, English without wide characters. A clone running the sources (tsx, vitest) uses the
 * real yargs from node_modules.
 */
import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';

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

/** Where yargs looks for its translations, relative to its own file; from the bundle, none. */
const LOCALES_FROM_SHIM = "resolve(__dirname, '../../../locales')";

/** Only yargs and what it imports are bundled: every other package stays an import from node_modules. */
const BUNDLED_PACKAGE = /^yargs$/;

/**
 * Packages stay external (`packages: 'external'` would keep yargs out too), except yargs and the packages
 * it imports; string-width replaced by the code-point count above; yargs' locales not read.
 */
export const cliParserPlugin: Plugin = {
  name: 'quicmesh-cli-parser',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, () => ({ path: 'string-width', namespace: 'code-point-width' }));
    build.onLoad({ filter: /.*/, namespace: 'code-point-width' }, () => ({ contents: STRING_WIDTH_MODULE, loader: 'js' }));
    // a bare name: a package or a builtin (esbuild keeps builtins external on its own)
    build.onResolve({ filter: /^[^./]/ }, ({ path, importer }) => {
      const fromPackage = /[\\/]node_modules[\\/]/.test(importer);
      return fromPackage || BUNDLED_PACKAGE.test(path) ? undefined : { path, external: true };
    });
    // English only: the help text around yargs' own words is ours, and in English
    build.onLoad({ filter: /yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      if (!source.includes(LOCALES_FROM_SHIM)) throw new Error(`${path}: yargs no longer reads its locales as expected`);
      return { contents: source.replace(LOCALES_FROM_SHIM, "resolve(__dirname, '../locales-none')"), loader: 'js' };
    });
  },
};
