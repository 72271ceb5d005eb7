/**
 * The public API is what src/index.ts (`quicmesh`) and cli/topology/index.ts (`quicmesh/topology`)
 * export; the API reference (`npm run docs:api`) is generated from their doc comments, so every
 * export has one.
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRIES = ['src/index.ts', 'cli/topology/index.ts'];

/** Exports of `entry` whose declarations carry no doc comment, as "file:name" relative to the repo. */
function undocumented(entry: string, program: ts.Program): string[] {
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.declarations ?? [];
    const documented = declarations.some((d) => {
      // a variable's comment sits on its statement; everything else carries its own
      const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
      return ts.getJSDocCommentsAndTags(node).some((c) => ts.isJSDoc(c) && (c.comment ?? '') !== '');
    });
    if (!documented) {
      const file = declarations[0]?.getSourceFile().fileName ?? '?';
      missing.push(`${file.startsWith(`${process.cwd()}/`) ? file.slice(process.cwd().length + 1) : file}:${exported.name}`);
    }
  }
  return missing;
}

describe('public API doc comments', () => {
  const program = ts.createProgram(ENTRIES, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });

  it.each(ENTRIES)('every export of %s has a doc comment', (entry) => {
    expect(undocumented(entry, program)).toEqual([]);
  });

  it('finds the exports of both entries (so the check above is not vacuous)', () => {
    const checker = program.getTypeChecker();
    const names = (entry: string): string[] =>
      checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map((s) => s.name);
    expect(names('src/index.ts')).toEqual(expect.arrayContaining(['createNode', 'SmartConnector', 'ConnectOutcome']));
    expect(names('cli/topology/index.ts')).toEqual(expect.arrayContaining(['loadTopology', 'TopologyError']));
  });
});
