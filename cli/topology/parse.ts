/**
 * Reading a topology file: YAML (with positions) → schema → semantic checks → resolveTopology.
 * Every problem, YAML syntax included, is reported as `file:line path: message`, all at once, in a
 * TopologyError.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../../src/errors.js';
import { TopologyError, formatPath, type PathSegment, type TopologyIssue } from './errors.js';
import type { ResolvedTopology } from './model.js';
import { resolveTopology } from './resolve.js';
import { validateTopologyData } from './schema-issues.js';
import { TOPOLOGY_VERSIONS, unsupportedVersionMessage } from './schema.js';
import { applyStack } from './kinds.js';
import { stackIssue, type LoadedStack } from './stack.js';

/** A stack (node kinds, issue 14) to run in every node: see stack.ts. */
export interface ParseOptions {
  stack?: LoadedStack;
}

/** Reads and resolves a topology file; the name is shown as given in messages. */
export async function loadTopology(file: string, opts: ParseOptions = {}): Promise<ResolvedTopology> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(error);
    throw new ConfigError(`cannot read topology ${file}: ${reason}`, { cause: error });
  }
  return parseTopology(text, file, opts);
}

/** Parses, checks and resolves topology text; `fileName` is used in messages only. */
export function parseTopology(text: string, fileName: string, opts: ParseOptions = {}): ResolvedTopology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const fail = (issues: TopologyIssue[]): never => {
    throw new TopologyError([...issues].sort((a, b) => a.line - b.line));
  };

  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => ({
        file: fileName,
        line: e.linePos?.[0].line ?? lineAt(e.pos[0]),
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    fail([{ file: fileName, line: 1, path: '', message: `invalid YAML: ${(error as Error).message}` }]);
  }
  if (data === null || data === undefined)
    fail([{ file: fileName, line: 1, path: '', message: 'the file is empty' }]);

  const lineOf = (path: readonly PathSegment[]): number => lineOfPath(doc, path, lineAt);
  // A file of another format version is refused on that alone: the rest of it may mean something else.
  const version = (data as Record<string, unknown>).version;
  if (version !== undefined && !TOPOLOGY_VERSIONS.includes(version as number)) {
    fail([
      {
        file: fileName,
        line: lineOf(['version']),
        path: 'version',
        message: unsupportedVersionMessage(version),
      },
    ]);
  }
  const validated = validateTopologyData(data);
  if (!validated.ok) {
    fail(
      validated.issues.map((issue) => ({
        file: fileName,
        line: lineOf(issue.path),
        path: formatPath(issue.path),
        message: issue.message,
      })),
    );
    throw new Error('unreachable');
  }
  const stack = opts.stack;
  const topology = stack ? applyStack(validated.file, stack.stack) : validated.file;
  try {
    return resolveTopology(topology, {
      sourceFile: fileName,
      lineOf,
      ...(stack ? { kindDirs: { [stack.stack.name]: stack.dir } } : {}),
    });
  } catch (error) {
    // a problem in the stack's own fields is reported at its line in the stack file
    if (error instanceof TopologyError) fail(stack ? error.issues.map((i) => stackIssue(stack, i)) : [...error.issues]);
    throw error;
  }
}

/**
 * The line of the deepest node along `path` that exists: a mapping key's own line, a list item's
 * line, or the closest existing parent (for a missing key). Follows aliases and `<<` merges.
 */
export function lineOfPath(
  doc: Document,
  path: readonly PathSegment[],
  lineAt: (offset: number) => number,
): number {
  let node: unknown = doc.contents;
  let line = node && (node as Node).range ? lineAt((node as Node).range![0]) : 1;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    const step = childOf(doc, node, segment);
    if (!step) break;
    if (step.lineNode?.range) line = lineAt(step.lineNode.range[0]);
    node = step.value;
  }
  return line;
}

function childOf(
  doc: Document,
  node: unknown,
  segment: PathSegment,
): { lineNode: Node | null; value: unknown } | null {
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item ? { lineNode: item, value: item } : null;
  }
  if (!isMap(node)) return null;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (String(key) === String(segment)) return { lineNode: pair.key as Node, value: pair.value };
  }
  for (const pair of node.items) {
    if (!isScalar(pair.key) || pair.key.value !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = childOf(doc, isAlias(source) ? source.resolve(doc) : source, segment);
      if (found) return found;
    }
  }
  return null;
}
