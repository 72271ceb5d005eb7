/**
 * A log file as a stream of text chunks: the whole file or its last N lines, then (with `follow`) what is
 * appended, until the signal aborts. The netns backend's node logs are such files.
 */
import { createReadStream, existsSync, statSync, watch } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import type { LogOptions } from './runtime.js';

async function readRange(file: string, from: number, to: number): Promise<string> {
  if (to <= from) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start: from, end: to - 1 })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The last `lines` lines of `text` (a trailing newline does not count as a line). */
export function lastLines(text: string, lines: number): string {
  const parts = text.split('\n');
  const trailing = parts.at(-1) === '' ? parts.pop() : undefined;
  return parts.slice(-lines).join('\n') + (trailing !== undefined ? '\n' : '');
}

export async function* readLogFile(file: string, what: string, opts: LogOptions = {}): AsyncGenerator<string> {
  if (!existsSync(file)) throw new ConfigError(`no log for ${what} (${file})`);
  let offset = statSync(file).size;
  const head = await readRange(file, 0, offset);
  const first = opts.tail !== undefined ? lastLines(head, opts.tail) : head;
  if (first) yield first;
  if (!opts.follow) return;
  const signal = opts.signal;
  while (!signal?.aborted) {
    // wait for a change of the file (or the end of following), then copy what was appended
    await new Promise<void>((resolve) => {
      const watcher = watch(file, () => done());
      const done = () => {
        watcher.close();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      if (statSync(file).size !== offset) done(); // appended before the watch began
    });
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated: start over
    const text = await readRange(file, offset, size);
    offset = size;
    if (text) yield text;
  }
}
