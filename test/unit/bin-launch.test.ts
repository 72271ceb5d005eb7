/**
 * bin/launch.js: a clone runs dist/ only while no source is newer than the build, an installed
 * package (no sources) always runs dist/, and QUICMESH_FROM_SOURCE=1 forces the sources.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { distIsFresh, pickEntry } from '../../bin/launch.js';

describe('bin/launch.js', () => {
  let root: string;
  const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
  const write = (path: string, seconds: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), '');
    at(path, seconds);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'qm-launch-'));
    // a clone: sources at t=1000, then a build at t=2000
    write('cli/quicmesh-lab.ts', 1000);
    write('src/node/mesh-node.ts', 1000);
    write('tsconfig.json', 1000);
    for (const dir of ['cli', 'src/node', 'src']) at(dir, 1000);
    write('dist/cli/quicmesh-lab.js', 2000);
    write('dist/.build-stamp', 2000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs dist/ while it is newer than every source', () => {
    expect(distIsFresh(root)).toBe(true);
    expect(pickEntry('quicmesh-lab', root, {})).toEqual({
      entry: join(root, 'dist', 'cli', 'quicmesh-lab.js'),
      fromSource: false,
    });
  });

  it('runs the sources after an edit, a new file, a rename or a config change', () => {
    const source = { entry: join(root, 'cli', 'quicmesh-lab.ts'), fromSource: true };
    at('src/node/mesh-node.ts', 3000);
    expect(pickEntry('quicmesh-lab', root, {})).toEqual(source);
    at('src/node/mesh-node.ts', 1000);
    expect(distIsFresh(root)).toBe(true);

    renameSync(join(root, 'src/node/mesh-node.ts'), join(root, 'src/node/node.ts')); // the folder's mtime moves
    expect(distIsFresh(root)).toBe(false);
    at('src/node', 1000);
    expect(distIsFresh(root)).toBe(true);

    at('tsconfig.json', 3000);
    expect(distIsFresh(root)).toBe(false);
  });

  it('runs the sources without a build, and when asked to', () => {
    expect(pickEntry('quicmesh-lab', root, { QUICMESH_FROM_SOURCE: '1' }).fromSource).toBe(true);
    rmSync(join(root, 'dist'), { recursive: true });
    expect(pickEntry('quicmesh-lab', root, {}).fromSource).toBe(true);
  });

  it('always runs dist/ in an installed package, which has no sources', () => {
    rmSync(join(root, 'cli'), { recursive: true });
    rmSync(join(root, 'src'), { recursive: true });
    expect(pickEntry('quicmesh-lab', root, { QUICMESH_FROM_SOURCE: '1' })).toEqual({
      entry: join(root, 'dist', 'cli', 'quicmesh-lab.js'),
      fromSource: false,
    });
  });
});
