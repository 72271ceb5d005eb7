/**
 * Command nodes on every backend (root only): a program with env, a `{{data}}` directory and a command
 * readiness check starts, logs, answers exec and shows in status and the TUI's liveness; stop/start/restart
 * repeat its launch and wait for its `ready:`; a scenario probes it by its `probe:`; and bad input —
 * a command that does not exist, a `ready` that never becomes true, an image the backend cannot use, a probe
 * printing garbage — is one clear line naming the node and the cause, with the lab torn down.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { labLiveness } from '../../cli/lab/lab-liveness.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { ensureImages } from '../../cli/runtime/docker/images.js';
import { docker } from '../../cli/runtime/docker/engine.js';
import { nodeContainerName } from '../../cli/runtime/docker/containers.js';
import { parseTopology } from '../../cli/topology/parse.js';
import { isRootWithTools, labBackends, labLeftovers, labName, runLab } from './lab-fixtures.js';



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
  const labs = ['qmk-run', 'qmk-missing', 'qmk-never', 'qmk-image', 'qmk-garbage', 'qmk-restart', 'qmk-scen'].map(lab);
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
    command: [sh, -c, 'echo "ID id-of-{{self.name}}"; echo "greeting $GREETING"; : > "{{data}}/up"; exec sleep 600']
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

  it("stop, start and restart repeat a command node's launch (env, data directory) and wait for its ready", async () => {
    const name = lab('qmk-restart');
    // each start: a line with its env and data directory, a count in the data directory, and its UDP
    // socket (what ready waits for) only after a moment — so a start that returned early would show; with a
    // "broken" file in its data directory it never binds
    const topo = parseTopology(
      topologyText(
        name,
        `  srv:
    network: internet
    command: [sh, -c, 'echo "start $GREETING data {{data}}"; echo x >> "{{data}}/starts"; sleep 1; if [ -e "{{data}}/broken" ]; then exec sleep 600; fi; exec node -e "require(''dgram'').createSocket(''udp4'').bind(5000)"']
    env: { GREETING: "hello-{{self.name}}" }
    ready: { udp: 5000, timeout: 3s }`,
      ),
      'kinds.yaml',
    );
    await rt.up(topo, { readyTimeoutMs: 30_000 });
    try {
      const dataDir = /start hello-srv data (\S+)/.exec(await collect(rt.logs(name, 'srv')))![1]!;
      const starts = async (): Promise<number> =>
        (await rt.exec(name, 'srv', ['cat', `${dataDir}/starts`])).stdout.trim().split('\n').length;
      const state = async () => (await rt.status(name)).nodes.find((n) => n.name === 'srv')!.live?.status?.['state'];

      const stopped = await rt.stopNode(name, 'srv');
      expect([stopped.running, stopped.pid, stopped.program]).toEqual([false, null, 'command']);
      expect(await state()).toBe('exited');

      const started = await rt.startNode(name, 'srv', { readyTimeoutMs: 20_000 });
      expect([started.running, started.restarts, started.program, started.nodeId]).toEqual([true, 1, 'command', null]);
      expect(started.readyMs).toBeGreaterThanOrEqual(1000);
      expect(await state()).toBe('running');

      // the CLI verb: the same launch again, and it says the node is ready, not that it answered /status
      const cli = await runLab(['restart', 'srv', '--lab', name]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/^restarted srv \(.*restart 2\): ready \(kind command\) \d+\.\d\d s after it started/);
      expect(await starts()).toBe(3);
      const log = await collect(rt.logs(name, 'srv'));
      expect(log.match(/start hello-srv data /g)).toHaveLength(3);

      // a ready check that no longer holds: restart fails with one line naming the node and the check
      await rt.exec(name, 'srv', ['sh', '-c', `: > ${dataDir}/broken`]);
      const err = await rt.restartNode(name, 'srv', { readyTimeoutMs: 20_000 }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message.split('\n')[0]).toMatch(
        /^node srv \(kind command\) was not ready within 3000 ms: waited for a UDP socket on port 5000; its log ends:$/,
      );
    } finally {
      await rt.down(name);
    }
    expect(await labLeftovers(name)).toEqual([]);
  }, 240_000);

  it('a scenario probes command nodes by their probe, across a restart of the probed node', async () => {
    const name = lab('qmk-scen');
    // a UDP echo server and a probe that sends it one datagram: connected when the echo comes back
    await writeFile(
      join(dir, 'echo.mjs'),
      `import dgram from 'node:dgram';
const [mode, addr] = process.argv.slice(2);
const s = dgram.createSocket('udp4');
if (mode === 'serve') {
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(5000, () => console.log('listening'));
} else {
  const t0 = performance.now();
  const timer = setTimeout(() => { console.error('no echo from ' + addr); process.exit(1); }, 2000);
  s.on('message', () => { clearTimeout(timer); console.log(JSON.stringify({ path: 'direct', ms: performance.now() - t0 })); s.close(); });
  s.send('ping', 5000, addr);
}
`,
    );
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      topologyText(
        name,
        `  a: { network: home }
  b: { network: internet }`,
        `defaults:
  node:
    command: [node, "{{dir}}/echo.mjs", serve]
    ready: { udp: 5000, timeout: 10s }
    probe: [node, "{{dir}}/echo.mjs", probe, "{{to.address}}"]
expect:
  - a -> b: direct
scenario:
  - { at: 0s, expect: "a -> b: direct within 3s" }
  - { at: 1s, restart: b }
  - { at: 1s, expect: "a -> b: direct within 3s" }
  - { at: 2s, stop: b }
  - { at: 3s, start: b }
  - { at: 3s, expect: "a -> b: direct within 3s" }`,
      ),
    );
    const json = join(dir, `${name}.json`);
    const run = await runLab(['test', file, '--backend', backend, '--repeat', '2', '--json', json]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as {
      timeline: { pass: boolean; summary: Array<{ text: string; passed: number; runs: number }> };
    };
    expect(report.timeline.pass).toBe(true);
    expect(report.timeline.summary.map((e) => [e.text, `${e.passed}/${e.runs}`])).toEqual([
      ['expect a -> b: direct within 3000ms', '2/2'],
      ['restart b', '2/2'],
      ['expect a -> b: direct within 3000ms', '2/2'],
      ['stop b', '2/2'],
      ['start b', '2/2'],
      ['expect a -> b: direct within 3000ms', '2/2'],
    ]);
    expect(await labLeftovers(name)).toEqual([]);
  }, 240_000);

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
