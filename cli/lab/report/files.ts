/** Output files of the reports: checked before a lab is built, written whole (temp file, then rename). */
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../../src/errors.js';

/** An output file must go into an existing directory and must not be a directory itself. */
export function checkOutputPath(file: string | undefined, flag: string): string | undefined {
  if (file === undefined) return undefined;
  if (file.trim() === '') throw new ConfigError(`--${flag}: expected a file path`);
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError(`--${flag}: directory ${dir} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory())
    throw new ConfigError(`--${flag}: ${file} is a directory`);
  return file;
}

/** Write `text` to `file` so that a reader never sees half of it (a baseline read by a concurrent job). */
export function writeFileWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
