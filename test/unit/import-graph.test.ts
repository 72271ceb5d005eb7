/**
 * The rooms of src/ and the direction of their imports (docs/contributing.md): the import graph
 * between folders has no cycle, the drivers' room (src/traversal) never reaches back into the
 * composition root (src/node), the pure cores never into either, and src/ never imports cli/ or
 * test/. Read from the import and export statements of every source file, as text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Relative specifiers of a file's static imports and re-exports (type-only ones included) and dynamic imports. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s+'([^']+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

/** Every import between files of src/, as paths relative to src/ ("dht/lookup.ts"). */
function fileEdges(): Array<{ from: string; to: string }> {
  const edges: Array<{ from: string; to: string }> = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      edges.push({ from: relative(SRC, file).split(sep).join('/'), to: relative(SRC, target).split(sep).join('/') });
    }
  }
  return edges;
}

/** A file's room: its top folder under src/ ("transport" for transport/quic/…); a file at the top is a room of its own. */
const topFolder = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);
/** A file's folder at any depth ("transport/quic"). */
const folder = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : path);

/** One cycle of the graph (its nodes in order, first repeated at the end), or null when there is none. */
function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    stack.push(n);
    for (const next of graph.get(n) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    if (state.get(n) === undefined) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return null;
}

function graphOf(edges: Array<{ from: string; to: string }>, unit: (path: string) => string): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = unit(from);
    const b = unit(to);
    if (a === b) continue;
    if (!g.has(a)) g.set(a, new Set());
    g.get(a)!.add(b);
  }
  return g;
}

describe('import graph of src/', () => {
  const edges = fileEdges();

  it('reads the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ from: 'node/create-node.ts', to: 'traversal/smart-connector.ts' });
  });

  it('has no cycle between top folders', () => {
    expect(findCycle(graphOf(edges, topFolder))).toBeNull();
  });

  it('has no cycle between folders at any depth', () => {
    expect(findCycle(graphOf(edges, folder))).toBeNull();
  });

  it('runs one way: node → traversal → the cores, and never into cli/ or test/', () => {
    const reaches = (from: string, to: string): string[] =>
      edges.filter((e) => topFolder(e.from) === from && topFolder(e.to) === to).map((e) => `${e.from} → ${e.to}`);
    expect(reaches('traversal', 'node')).toEqual([]);
    for (const core of ['nat', 'connection', 'dht', 'pubsub', 'transport', 'wire', 'identity', 'core', 'storage', 'tiering']) {
      expect(reaches(core, 'traversal'), core).toEqual([]);
      expect(reaches(core, 'node'), core).toEqual([]);
    }
    expect(edges.filter((e) => e.to.startsWith('../')).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(findCycle(g)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', new Set(['b'])]]))).toBeNull();
  });
});
