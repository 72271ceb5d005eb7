import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { QuicmeshError, TransportError } from '../../src/errors.js';
import { captureIO } from '../../cli/lab/io.js';
import { Progress } from '../../cli/lab/progress.js';
import { describeError, main } from '../../cli/quicmesh-lab.js';

async function run(...args: string[]) {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

describe('quicmesh-lab CLI', () => {
  it('validates a topology and prints a summary', async () => {
    const { code, out, err } = await run('validate', 'topologies/quickstart.yaml');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toBe(
      [
        'topologies/quickstart.yaml: valid topology "quickstart"',
        '  networks 4 (1 public, 3 lan)',
        '  routers  router-a port-restricted-cone, router-b full-cone, router-c symmetric',
        '  nodes    boot 203.0.113.4, relay 203.0.113.5, alice-1 192.168.1.2, alice-2 192.168.1.3, bob 10.0.2.2, carol 10.0.3.2',
        '  links    1 shaped link',
        '  expect   17 expectations',
        '',
      ].join('\n'),
    );
  });

  it('prints the resolved topology with --json', async () => {
    const { code, out } = await run('validate', '--json', 'topologies/nat-symmetric.yaml');
    expect(code).toBe(0);
    const topology = JSON.parse(out);
    expect(topology.name).toBe('nat-symmetric');
    expect(topology.routers.map((r: { preset: string }) => r.preset)).toEqual(['symmetric', 'symmetric']);
  });

  it('exits 2 with every problem, one per line, and no stack', async () => {
    const { code, out, err } = await run('validate', 'test/fixtures/topologies/bad/stacking-loop.yaml');
    expect({ code, out }).toEqual({ code: 2, out: '' });
    expect(err).toBe(
      'test/fixtures/topologies/bad/stacking-loop.yaml:7 routers.left-nat.wan: NAT stacking loops: left-nat -> right-nat -> left-nat\n' +
        'test/fixtures/topologies/bad/stacking-loop.yaml:9 routers.self-nat.lan: "internet" is this router\'s WAN too; a router joins two different networks\n',
    );
  });

  it('draws a graph in either format', async () => {
    const mermaid = await run('graph', 'topologies/quickstart.yaml');
    expect(mermaid.code).toBe(0);
    expect(mermaid.out.startsWith('flowchart TB\n')).toBe(true);
    const dot = await run('graph', 'topologies/quickstart.yaml', '--format', 'dot');
    expect(dot.out.startsWith('graph "quickstart" {\n')).toBe(true);
    const bad = await run('graph', 'topologies/quickstart.yaml', '--format', 'png');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Invalid values');
  });

  it('treats usage mistakes as configuration errors (exit 2)', async () => {
    expect(await run('frobnicate')).toEqual({
      code: 2,
      out: '',
      err: 'quicmesh-lab: Unknown argument: frobnicate\nRun quicmesh-lab --help for usage.\n',
    });
    expect((await run()).err).toBe('quicmesh-lab: name a command\nRun quicmesh-lab --help for usage.\n');
    expect((await run('validate', 'x.yaml', '--nope')).code).toBe(2);
  });

  it('prints help on stdout', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toContain('quicmesh-lab validate <file>');
    expect(out).toContain('quicmesh-lab graph <file>');
  });

  it('maps errors to exit codes, with a stack only for unexpected ones', () => {
    expect(describeError(new TransportError('lab is down'))).toEqual({
      code: 1,
      text: 'quicmesh-lab: lab is down\n',
    });
    expect(describeError(new QuicmeshError('x')).code).toBe(1);
    const bug = describeError(new TypeError('undefined is not a function'));
    expect(bug.code).toBe(1);
    expect(bug.text).toMatch(
      /^quicmesh-lab: unexpected error \(a bug\):\nTypeError: undefined is not a function\n\s+at /,
    );
  });
});

describe('bin/quicmesh-lab.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-lab-bin-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs through an npm-style bin symlink', async () => {
    const link = join(dir, 'quicmesh-lab');
    symlinkSync(resolve('bin/quicmesh-lab.js'), link);
    const ok = await promisify(execFile)(link, ['validate', 'topologies/cgnat.yaml']);
    expect(ok.stdout.split('\n')[0]).toBe('topologies/cgnat.yaml: valid topology "cgnat"');
    const failed = await promisify(execFile)(link, [
      'validate',
      'test/fixtures/topologies/bad/overlap.yaml',
    ]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr.split('\n')[0]).toBe(
      'test/fixtures/topologies/bad/overlap.yaml:5 networks.office.subnet: 203.0.113.128/25 overlaps networks.internet (203.0.113.0/24); a public network may overlap no other (only LANs behind different routers may share addresses)',
    );
  });
});

describe('Progress', () => {
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    return { chunks, isTTY, write: (t: string) => void chunks.push(t) };
  }
  function clock() {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('prints plain start/done lines when not on a terminal', async () => {
    const s = sink(false);
    const c = clock();
    const progress = new Progress(s, { now: c.now });
    await progress.step('build namespaces', () => {
      c.advance(412);
    });
    const step = progress.start('start nodes');
    c.advance(30);
    step.fail('node alice exited');
    await expect(
      progress.step('boom', () => {
        throw new Error('no root');
      }),
    ).rejects.toThrow('no root');
    expect(s.chunks.join('')).toBe(
      [
        'start build namespaces',
        'done build namespaces 412 ms',
        'start start nodes',
        'failed start nodes 30 ms: node alice exited',
        'start boom',
        'failed boom 0 ms: no root',
        '',
      ].join('\n'),
    );
  });

  it('rewrites the open line on a terminal and starts a new one when steps interleave', () => {
    const s = sink(true);
    const c = clock();
    const progress = new Progress(s, { now: c.now });
    const a = progress.start('a');
    c.advance(5);
    a.done('3 routers');
    const b = progress.start('b');
    const d = progress.start('d');
    progress.info('note');
    c.advance(7);
    b.done();
    d.done();
    d.done(); // a second end is ignored
    expect(s.chunks.join('')).toBe(
      '… a\r\x1b[2K✓ a 5 ms (3 routers)\n' + '… b\n' + '… d\n' + 'note\n' + '✓ b 7 ms\n' + '✓ d 7 ms\n',
    );
  });
});
