/**
 * Where the package's own files are (the delay helper's C source, the node binary, the CLI entry the
 * docker image bundles), found the same way from the TypeScript sources of a clone (tsx, vitest), from
 * its dist/ and from an installed package: up from this module's file to the package.json named
 * "quicmesh". The build bundles modules into shared chunks (scripts/build.ts), so a path relative to a
 * module's own file would not survive it; one relative to the package root does.
 * Looked up on first use, never at import: the node binary bundled into a docker image has no package
 * around it and never asks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuicmeshError } from '../../src/errors.js';

/** True when this runs compiled (dist/ of a build, or an installed package); false from the sources. */
export const runningCompiled = import.meta.url.endsWith('.js');

let root: string | undefined;

/** The folder holding quicmesh's package.json (the clone, or node_modules/quicmesh). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (isQuicmeshPackage(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) break;
  }
  throw new QuicmeshError(`cannot find quicmesh's package.json above ${start}`);
}

/** A file of the package, by its path from the package root. */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}

function isQuicmeshPackage(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'quicmesh';
  } catch {
    return false;
  }
}
