/**
 * The one-file node build the lab starts its nodes from: it builds, runs as the `quicmesh` binary
 * (its own entry point, package imports resolved from the repository), and QUICMESH_LAB_TSX=1 opts out.
 */
import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleFile, bundleNodeBinary } from '../../cli/lab/node-bundle.js';

function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('bundleNodeBinary', () => {
  const saved = process.env.QUICMESH_LAB_TSX;
  afterEach(() => {
    if (saved === undefined) delete process.env.QUICMESH_LAB_TSX;
    else process.env.QUICMESH_LAB_TSX = saved;
  });

  it('builds a file that runs as the quicmesh binary', async () => {
    delete process.env.QUICMESH_LAB_TSX;
    const bundle = await bundleNodeBinary();
    if (bundle.command === null) throw new Error(`no bundle: ${bundle.reason}`);
    expect(bundle.command).toEqual([process.execPath, bundleFile()]);
    const help = await run([...bundle.command, 'node', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('POST /connect');
    const bad = await run([...bundle.command, 'node', '--listen', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^quicmesh: --listen: missing port/);
  });

  it('is skipped with QUICMESH_LAB_TSX=1', async () => {
    process.env.QUICMESH_LAB_TSX = '1';
    expect(await bundleNodeBinary()).toEqual({ command: null, reason: 'QUICMESH_LAB_TSX=1' });
  });
});
