/**
 * Command nodes on every backend (root only): a program with env, a `{{data}}` directory and a command
 * readiness check starts, logs, answers exec and shows in status and the TUI's liveness; and bad input —
 * a command that does not exist, a `ready` that never becomes true, an image the backend cannot use, a probe
 * printing garbage — is one clear line naming the node and the cause, with the lab torn down.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { labLiveness } from '../../cli/lab/lab-liveness.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { ensureImages } from '../../cli/runtime/docker/images.js';
import { docker } from '../../cli/runtime/docker/engine.js';
import { nodeContainerName } from '../../cli/runtime/docker/containers.js';
import { parseTopology } from '../../cli/topology/parse.js';
import { isRootWithTools, labBackends, labLeftovers, labName } from './lab-fixtures.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LAB_BIN = join(ROOT, 'bin', 'quicmesh-lab.js');

function runLab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [LAB_BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** One public segment, one LAN behind a port-restricted NAT; nodes given as YAML lines. */
function topologyText(name: string, nodes: string, extra = ''): string {
  return `
name: ${name}
networks:
  internet: { kind: public, subnet: 203.0.113.0/24 }
  home: { kind: lan, subnet: 10.0.1.0/24 }
routers:
  r: { nat: port-restricted-cone, wan: internet, lan: home }
nodes:
${nodes}
${extra}`;
}

const collect = async (it: AsyncIterable<string>): Promise<string> => {
  let out = '';
  for await (const chunk of it) out += chunk;
  return out;
};

describe.runIf(isRootWithTools(['ip', 'nft'])).each(labBackends())('command nodes (%s)', (backend) => {
  const rt = getRuntime(backend);
  const lab = (base: string) => labName(base, backend);
  const labs = ['qmk-run', 'qmk-missing', 'qmk-never', 'qmk-image', 'qmk-garbage'].map(lab);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qmk-'));
    for (const name of labs) await rt.down(name).catch(() => {});
  }, 120_000);
  afterAll(async () => {
    for (const name of labs) await rt.down(name).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('runs a program with its env and data directory, ready by a command; logs, exec, status and liveness work', async () => {
    const name = lab('qmk-run');
    const topo = parseTopology(
      topologyText(
        name,
        `  srv:
    network: internet
    command: [sh, -c, 'echo "ID id-of-{{self.name}}"; echo "greeting $GREETING"; touch "{{data}}/up"; exec sleep 600']
    env: { GREETING: "hello from {{self.address}}" }
    ready: { command: [sh, -c, 'test -e "{{data}}/up"'], timeout: 20s }
  home: { network: home, command: [sleep, "600"] }`,
      ),
      'kinds.yaml',
    );
    const handle = await rt.up(topo, { readyTimeoutMs: 30_000 });
    try {
      expect(
        handle.nodes.filter((n) => n.kind === 'host').map((n) => [n.name, n.program, n.statusUrl]),
      ).toEqual([
        ['srv', 'command', null],
        ['home', 'command', null],
      ]);
      const log = await collect(rt.logs(name, 'srv'));
      expect(log).toContain('ID id-of-srv');
      expect(log).toContain('greeting hello from 203.0.113.2');
      const route = await rt.exec(name, 'home', ['ip', 'route', 'show', 'default']);
      expect(route.stdout).toContain('default via 10.0.1.1');
      const st = await rt.status(name);
      expect(
        st.nodes
          .filter((n) => n.kind === 'host')
          .map((n) => [n.name, n.live?.reachable, n.live?.status?.['state']]),
      ).toEqual([
        ['srv', true, 'running'],
        ['home', true, 'running'],
      ]);
      expect(await labLiveness(name)({ name: 'home', baseUrl: '', program: 'command' })).toEqual({
        running: true,
      });
      // a probe killed at its deadline says so
      const killed = await rt.exec(name, 'home', ['sleep', '30'], { signal: AbortSignal.timeout(300) });
      expect(killed.killed).toBe(true);
    } finally {
      await rt.down(name);
    }
    expect(await labLeftovers(name)).toEqual([]);
  }, 180_000);

  it('a command that does not exist: one line naming the node and the program, nothing left', async () => {
    const name = lab('qmk-missing');
    const topo = parseTopology(
      topologyText(name, '  a: { network: home, command: [no-such-program-qmk, --x] }'),
      'k.yaml',
    );
    const err = await rt.up(topo, { readyTimeoutMs: 20_000 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message.split('\n')[0]).toMatch(
      /^node a(?: \(kind command\))?: its command "no-such-program-qmk" was not found/,
    );
    expect(await labLeftovers(name)).toEqual([]);
  }, 120_000);

  it('a ready check that never holds: one line naming the node and what it waited for, nothing left', async () => {
    const name = lab('qmk-never');
    const topo = parseTopology(
      topologyText(
        name,
        '  a: { network: home, command: [sleep, "600"], ready: { udp: 9999, timeout: 2s } }',
      ),
      'k.yaml',
    );
    const err = await rt.up(topo, { readyTimeoutMs: 30_000 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message.split('\n')[0]).toBe(
      'node a (kind command) was not ready within 2000 ms: waited for a UDP socket on port 9999; its log ends:',
    );
    expect(await labLeftovers(name)).toEqual([]);
  }, 120_000);

  it('image: runs on docker only, in a local image', async () => {
    const name = lab('qmk-image');
    if (backend === 'netns') {
      const topo = parseTopology(
        topologyText(name, '  a: { network: home, command: [sleep, "600"], image: "some/image:1" }'),
        'k.yaml',
      );
      await expect(rt.up(topo)).rejects.toThrow('node a: image: some/image:1 needs the docker backend');
      expect(await labLeftovers(name)).toEqual([]);
      return;
    }
    const missing = parseTopology(
      topologyText(name, '  a: { network: home, command: [sleep, "600"], image: "qmk-no-such-image:1" }'),
      'k.yaml',
    );
    await expect(rt.up(missing)).rejects.toThrow(
      'node a: image qmk-no-such-image:1 is not on the Docker engine (nothing is pulled',
    );
    expect(await labLeftovers(name)).toEqual([]);
    const { images } = await ensureImages({ say: () => {} });
    const topo = parseTopology(
      topologyText(name, `  a: { network: home, command: [sleep, "600"], image: "${images.router}" }`),
      'k.yaml',
    );
    await rt.up(topo, { readyTimeoutMs: 30_000 });
    try {
      const info = await docker().getContainer(nodeContainerName(name, 'a')).inspect();
      expect(info.Config.Image).toBe(images.router);
      expect((await rt.exec(name, 'a', ['ip', 'route', 'show', 'default'])).stdout).toContain(
        'default via 10.0.1.1',
      );
    } finally {
      await rt.down(name);
    }
    expect(await labLeftovers(name)).toEqual([]);
  }, 240_000);

  it('a probe printing garbage stops the test: exit 2, one line naming the node and the cause, lab gone', async () => {
    const name = lab('qmk-garbage');
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      topologyText(
        name,
        `  a: { network: home, command: [sleep, "600"], probe: [sh, -c, 'echo trying; echo "{not json"'] }
  b: { network: internet, command: [sleep, "600"] }`,
        'expect:\n  - a -> b',
      ),
    );
    const run = await runLab(['test', file, '--backend', backend]);
    expect(run.code, run.stderr).toBe(2);
    const last = run.stderr.trim().split('\n').pop();
    expect(last).toBe(
      'quicmesh-lab: probe in node a (-> b) printed an unreadable result line "{not json": not JSON (expected {"path": "direct|hole-punched|relayed", "ms": N})',
    );
    expect(await labLeftovers(name)).toEqual([]);
  }, 180_000);
});
