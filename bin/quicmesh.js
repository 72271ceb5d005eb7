#!/usr/bin/env node
// Launcher for the quicmesh node binary: runs the TypeScript sources through tsx's ESM loader.
// Paths are resolved from this file's real location, so an npm bin symlink works too.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const { main } = await import(pathToFileURL(join(here, '..', 'cli', 'quicmesh.ts')).href);
process.exitCode = await main(process.argv.slice(2));
