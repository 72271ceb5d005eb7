/**
 * Stack files (node kinds, issue 14): one program — its start command, probe, readiness, env — in a YAML
 * file of its own, run in every node of any topology (`quicmesh-lab up|test TOPOLOGY --stack FILE`).
 * `{{dir}}` in it is the stack file's directory. Problems are reported as `file:line path: message` against
 * the stack file, also those found only once it is applied to a topology (template variables naming nodes).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../src/errors.js';
import { TopologyError, formatPath, type PathSegment, type TopologyIssue } from './errors.js';
import { StackFileSchema, type StackFile } from './kind-schema.js';
import { lineOfPath } from './parse.js';

export interface LoadedStack {
  /** The file as given (messages). */
  file: string;
  stack: StackFile;
  /** Absolute directory of the file: `{{dir}}`. */
  dir: string;
  /** 1-based line of a path in the file. */
  lineOf(path: readonly PathSegment[]): number;
}

/** The built-in stack name: the topology as written (quicmesh nodes). */
export const QUICMESH_STACK = 'quicmesh';

export async function loadStack(file: string): Promise<LoadedStack> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read stack ${file}: ${code === 'ENOENT' ? 'no such file' : String(error)}`,
      { cause: error },
    );
  }
  return parseStack(text, file);
}

export function parseStack(text: string, file: string): LoadedStack {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const lineOf = (path: readonly PathSegment[]): number => lineOfPath(doc, path, lineAt);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new TopologyError([
      {
        file,
        line: e.linePos?.[0].line ?? 1,
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      },
    ]);
  }
  const data: unknown = doc.toJS();
  const parsed = StackFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new TopologyError(
      parsed.error.issues.flatMap((issue: z.core.$ZodIssue): TopologyIssue[] => {
        const path = issue.path.map((s) => (typeof s === 'number' ? s : String(s)));
        const at = (p: PathSegment[], message: string): TopologyIssue => ({
          file,
          line: lineOf(p),
          path: formatPath(p),
          message,
        });
        if (issue.code === 'unrecognized_keys') {
          const allowed =
            path.length === 0 ? ` (allowed: ${Object.keys(StackFileSchema.shape).join(', ')})` : '';
          return issue.keys.map((k) => at([...path, k], `unknown key "${k}"${allowed}`));
        }
        if (issue.code === 'invalid_type' && valueAt(data, path) === undefined) return [at(path, 'required')];
        return [at(path, issue.message)];
      }),
    );
  }
  if (parsed.data.name === QUICMESH_STACK || parsed.data.name === 'command') {
    throw new TopologyError([
      {
        file,
        line: lineOf(['name']),
        path: 'name',
        message: `"${parsed.data.name}" is a built-in kind; name your stack otherwise`,
      },
    ]);
  }
  return { file, stack: parsed.data, dir: dirname(resolve(file)), lineOf };
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let v = data;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

/** A dotted path string back into segments ("command[2]" → ["command", 2]). */
function segments(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const m of path.matchAll(/(?:^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]!) as string);
  }
  return out;
}

/** An issue found in the topology with the stack applied: one about the stack's fields points into the stack file. */
export function stackIssue(stack: LoadedStack, issue: TopologyIssue): TopologyIssue {
  const prefix = `kinds.${stack.stack.name}`;
  if (issue.path !== prefix && !issue.path.startsWith(`${prefix}.`) && !issue.path.startsWith(`${prefix}[`))
    return issue;
  const path = segments(issue.path.slice(prefix.length));
  return { file: stack.file, line: stack.lineOf(path), path: formatPath(path), message: issue.message };
}
