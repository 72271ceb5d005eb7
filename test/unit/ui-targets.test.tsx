import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { STATE_VERSION, writeState, type LabState, type NodeRecord } from '../../cli/runtime/state.js';
import { captureIO } from '../../cli/lab/io.js';
import { planTui } from '../../cli/lab/commands/tui.js';
import { main } from '../../cli/quicmesh-lab.js';
import { baseUrlOf, parseNodesFlag, targetsFromLabState } from '../../cli/ui/targets.js';

function host(name: string, statusUrl: string | null, network = 'lan1', nat = 'symmetric'): NodeRecord {
  return { name, kind: 'host', namespace: `qm-x_h_${name}`, network, addresses: ['10.0.0.2/24'], nat, mgmtAddress: null, statusUrl, logFile: null };
}

function state(lab: string, nodes: NodeRecord[]): LabState {
  return {
    version: STATE_VERSION,
    lab,
    backend: 'netns',
    topologyFile: 't.yaml',
    createdAt: '2025-01-01T00:00:00Z',
    phase: 'up',
    tag: 'x',
    namespaces: [],
    netns: { rootLinks: [] },
    mgmtSubnet: '172.31.1.0/24',
    nodes,
    processes: [],
    shaping: null,
  };
}

describe('node targets', () => {
  it('parses --nodes, defaulting the scheme and dropping endpoint paths', () => {
    expect(parseNodesFlag('a=http://127.0.0.1:9464/status, b=10.0.0.3:9464 ,c=https://n.example/metrics/')).toEqual([
      { name: 'a', baseUrl: 'http://127.0.0.1:9464' },
      { name: 'b', baseUrl: 'http://10.0.0.3:9464' },
      { name: 'c', baseUrl: 'https://n.example' },
    ]);
    expect(baseUrlOf('http://h:1/')).toBe('http://h:1');
  });

  it('rejects malformed --nodes with a ConfigError naming the item', () => {
    expect(() => parseNodesFlag('a')).toThrow(/"a" is not name=url/);
    expect(() => parseNodesFlag('=http://x')).toThrow(ConfigError);
    expect(() => parseNodesFlag('a=ftp://x')).toThrow(/needs an http\(s\) URL/);
    expect(() => parseNodesFlag('a=http://x:1,a=http://y:1')).toThrow(/listed twice/);
    expect(() => parseNodesFlag(' , ')).toThrow(/no nodes given/);
    expect(() => parseNodesFlag('a=http://[::1')).toThrow(/is not a URL/);
  });

  it('takes the hosts of a lab state, skipping routers and naming hosts without a status URL', () => {
    const router: NodeRecord = { ...host('r1', null), kind: 'router' };
    const s = state('demo', [host('a1', 'http://172.31.1.2:9464/status'), router, host('b1', null, 'wan', 'public')]);
    expect(targetsFromLabState(s)).toEqual({
      targets: [{ name: 'a1', baseUrl: 'http://172.31.1.2:9464', network: 'lan1', nat: 'symmetric' }],
      unwatchable: ['b1'],
    });
  });
});

describe('planTui', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.QUICMESH_LAB_STATE_DIR;
    dir = mkdtempSync(join(tmpdir(), 'qm-tui-'));
    process.env.QUICMESH_LAB_STATE_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.QUICMESH_LAB_STATE_DIR;
    else process.env.QUICMESH_LAB_STATE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs a lab or --nodes', () => {
    expect(() => planTui({})).toThrow(/no lab is up/);
  });

  it('watches --nodes alone without any lab', () => {
    expect(planTui({ nodes: 'x=127.0.0.1:1' })).toEqual({ lab: '', targets: [{ name: 'x', baseUrl: 'http://127.0.0.1:1' }], notes: [] });
  });

  it('picks the only lab up, and adds --nodes to a named lab', () => {
    writeState(state('demo', [host('a1', 'http://172.31.1.2:9464/status'), host('b1', null)]));
    const only = planTui({});
    expect(only.lab).toBe('demo');
    expect(only.targets.map((t) => t.name)).toEqual(['a1']);
    expect(only.notes).toEqual(['not watched (no management address): b1']);
    expect(planTui({ name: 'demo', nodes: 'ext=10.1.1.1:9464' }).targets.map((t) => t.name)).toEqual(['a1', 'ext']);
  });

  it('asks which lab when several are up, and names the labs when the named one is not', () => {
    writeState(state('one', [host('a1', 'http://172.31.1.2:9464/status')]));
    writeState(state('two', [host('a1', 'http://172.31.2.2:9464/status')]));
    expect(() => planTui({})).toThrow(/several labs are up \(one, two\)/);
    expect(() => planTui({ name: 'three' })).toThrow(/no lab named "three" is up \(up: one, two\)/);
  });

  it('refuses a lab with nothing to watch', () => {
    writeState(state('bare', [host('a1', null)]));
    expect(() => planTui({ name: 'bare' })).toThrow(/has no node with a status URL/);
  });
});

describe('quicmesh-lab tui (command module)', () => {
  /** Exit code and stderr of the real CLI root. */
  const run = async (args: string[]) => {
    const io = captureIO(false);
    const code = await main(args, io);
    return { code, err: io.err.join('') };
  };

  it('refuses to start without a terminal, after checking its nodes', async () => {
    expect(await run(['tui', '--nodes', 'a=127.0.0.1:9464'])).toMatchObject({ code: 2, err: expect.stringMatching(/needs an interactive terminal/) });
    expect(await run(['tui', '--nodes', 'a'])).toMatchObject({ code: 2, err: expect.stringMatching(/"a" is not name=url/) });
  });

  it('rejects a bad --interval', async () => {
    expect((await run(['tui', '--nodes', 'a=127.0.0.1:9464', '--interval', '0'])).code).toBe(2);
    expect(await run(['tui', '--nodes', 'a=127.0.0.1:9464', '--interval', '2.5'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--interval must be a positive integer/),
    });
  });
});
