/**
 * Every lab backend against the real kernel (root only), the same cases on each: up/down leaves nothing
 * behind (also twice), a failure injected mid-way rolls back, a `kill -9` of `up` is cleaned by `down`, node
 * processes answer over the management network and their logs stream, a node that exits during `up` is
 * reported with its log and rolled back, link shaping measures what was asked, two home LANs may share a
 * subnet, and the host's firewall is as it was after `down`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { machineDataDir, readState } from '../../cli/runtime/state.js';
import { pollUntil } from '../support/poll.js';
import { nsName } from '../../cli/runtime/names.js';
import { listNamespaces } from '../../cli/runtime/wiring/teardown.js';
import type { ProbeResult } from '../../cli/runtime/tools/udp-probe.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import {
  dockerAnswers,
  host,
  isRootWithTools,
  labBackends,
  labLeftovers,
  labName,
  router,
  threeRouterLab,
} from './lab-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROBE = join(here, '..', '..', 'cli', 'runtime', 'tools', 'udp-probe.ts');

function execOut(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Start the UDP echo in `ns`, resolve once it printed "ready"; returns a stopper. */
function startEcho(ns: string, addr: string): Promise<() => void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', PROBE, 'echo', addr], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`udp echo exited with ${code}`)));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(() => child.kill('SIGTERM'));
    });
  });
}

async function probe(ns: string, target: string, count: number, intervalMs: number): Promise<ProbeResult> {
  const out = await execOut([
    'ip',
    'netns',
    'exec',
    ns,
    process.execPath,
    '--import',
    'tsx',
    PROBE,
    'probe',
    target,
    String(count),
    String(intervalMs),
  ]);
  return JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The host's firewall as text, counters stripped: what the lab must leave as it found it. */
async function hostFirewall(): Promise<string> {
  const ipt = await execOut(['iptables-save']).catch(() => '');
  return ipt
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
    .join('\n');
}

describe.runIf(isRootWithTools()).each(labBackends())('lab backend %s', (backend) => {
  const rt = getRuntime(backend);
  const lab = (base: string) => labName(base, backend);
  const labs = [
    'qmt-updown',
    'qmt-rollback',
    'qmt-crash',
    'qmt-nodes',
    'qmt-exits',
    'qmt-shape',
    'qmt-overlap',
    'qmt-beside',
  ].map(lab);
  const scratch = mkdtempSync(join(tmpdir(), 'qmt-backend-'));

  beforeAll(async () => {
    for (const name of labs) await rt.down(name).catch(() => {}); // leftovers of an aborted earlier run
  }, 120_000);

  afterAll(async () => {
    for (const name of labs) await rt.down(name).catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('up builds routers and hosts, down leaves nothing behind, also twice, and the host firewall as it was', async () => {
    const name = lab('qmt-updown');
    const before = await listNamespaces();
    const firewall = await hostFirewall();
    const topo = threeRouterLab(name);
    const handle = await rt.up(topo, { startNodes: false });
    expect(handle.backend).toBe(backend);
    expect(handle.nodes.filter((n) => n.kind === 'router')).toHaveLength(3);
    const during = await listNamespaces();
    for (const n of topo.nodes) expect(during).toContain(nsName(name, 'h', n.name));
    for (const r of topo.routers) expect(during).toContain(nsName(name, 'r', r.name));
    const route = await rt.exec(name, 'h2a', ['ip', 'route', 'show', 'default']);
    expect(route.stdout).toContain('default via 10.0.2.1 dev eth0');
    const nat = await rt.exec(name, 'r2', ['nft', 'list', 'table', 'ip', 'qm_nat']);
    expect(nat.stdout).toContain('masquerade random');
    expect(readState(name)?.backend).toBe(backend);
    expect(await rt.listLabs()).toContain(name);
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
    await rt.down(name); // twice: nothing to do, no error
    expect((await listNamespaces()).sort()).toEqual(before.sort());
    expect(await hostFirewall()).toEqual(firewall);
  });

  it('a failure injected mid-way rolls back everything up made', async () => {
    const name = lab('qmt-rollback');
    const lines: string[] = [];
    await expect(
      rt.up(threeRouterLab(name), {
        startNodes: false,
        failAfterStep: 'hosts',
        onProgress: (l) => lines.push(l),
      }),
    ).rejects.toThrow(/injected failure after step "hosts"/);
    expect(lines.some((l) => l.includes('rolling back'))).toBe(true);
    expect(await labLeftovers(name)).toEqual([]);
  });

  it('down cleans a lab whose up was killed with SIGKILL, from its state file and by label and prefix', async () => {
    const name = lab('qmt-crash');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-child.ts'), name, backend], {
      stdio: 'ignore',
    });
    const signal = await new Promise<string | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');
    expect(readState(name)?.phase).toBe('building');
    expect((await labLeftovers(name)).length).toBeGreaterThan(0);
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
  });

  it('starts nodes that answer /status over the management network, whose logs stream', async () => {
    const name = lab('qmt-nodes');
    const topo = threeRouterLab(name);
    topo.nodes = topo.nodes.slice(0, 2);
    topo.nodes[0]!.role = 'bootstrap';
    const handle = await rt.up(topo, {
      nodeCommand: [process.execPath, join(here, 'fake-node.mjs')],
      readyTimeoutMs: 30_000,
    });
    expect(
      handle.nodes.filter((n) => n.kind === 'host').every((n) => n.statusUrl?.startsWith('http://172.31.')),
    ).toBe(true);
    const st = await rt.status(name);
    const hosts = st.nodes.filter((n) => n.kind === 'host');
    // every interface (the socket survives a move), advertising eth0's address
    expect(hosts.map((h) => h.live?.status?.['listen'])).toEqual(['0.0.0.0:4433', '0.0.0.0:4433']);
    expect(hosts.map((h) => h.live?.status?.['interface'])).toEqual(['eth0', 'eth0']);
    expect(hosts.every((h) => h.process?.running && h.process.restarts === 0)).toBe(true);
    let log = '';
    for await (const chunk of rt.logs(name, 'h1b')) log += chunk;
    expect(log).toContain('listening on 0.0.0.0:4433');
    expect(log).toContain('--bootstrap 10.0.1.10:4433');
    let tail = '';
    for await (const chunk of rt.logs(name, 'h1b', { tail: 1 })) tail += chunk;
    expect(tail.trim().split('\n')).toHaveLength(1);
    // the second node was told where the bootstrap node is; the management network is not a mesh path
    const isolated = await rt.exec(name, 'h1a', ['ip', 'route', 'get', '10.0.1.11']);
    expect(isolated.stdout).toContain('dev eth0');
    const mgmtPeer = handle.nodes
      .find((n) => n.name === 'h1b')!
      .statusUrl!.replace(/^http:\/\/([\d.]+):.*/, '$1');
    const viaMgmt = await rt
      .exec(name, 'h1a', ['ping', '-c', '1', '-W', '1', mgmtPeer])
      .catch((e: unknown) => ({ code: -1, stdout: String(e), stderr: '' }));
    expect(viaMgmt.code).not.toBe(0); // hosts cannot reach each other over the management network
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
  });

  it('exec streams output as it comes; exec --detach runs a program in the background, logged, ended by down', async () => {
    const name = lab('qmt-exec');
    await rt.up(threeRouterLab(name), { startNodes: false });
    // the command waits for a file the test creates only once the first line has arrived
    const flagOnHost = join(machineDataDir(name, 'h1a'), 'go');
    const flagInMachine = backend === 'docker' ? '/lab/go' : flagOnHost;
    const chunks: string[] = [];
    const res = await rt.exec(name, 'h1a', ['sh', '-c', `echo first; while [ ! -e ${flagInMachine} ]; do sleep 0.02; done; echo second`], {
      onOutput: (stream, chunk) => {
        chunks.push(`${stream}:${chunk}`);
        if (chunk.includes('first')) writeFileSync(flagOnHost, '');
      },
    });
    expect(res.code).toBe(0);
    expect(chunks.join('')).toBe('stdout:first\nstdout:second\n');

    const d = await rt.execDetached(name, 'r1', ['sh', '-c', 'echo serving; exec sleep 1000']);
    expect(d).toMatchObject({ node: 'r1', id: 1 });
    const second = await rt.execDetached(name, 'r1', ['sh', '-c', 'echo again']);
    expect(second.id).toBe(2);
    const logOf = async (id: number) => {
      let text = '';
      for await (const chunk of rt.logs(name, 'r1', { exec: id })) text += chunk;
      return text;
    };
    await pollUntil('the detached command to log', async () => ((await logOf(1)).includes('serving') ? true : null), { timeoutMs: 10_000, intervalMs: 50 });
    // it runs in the router's machine: in its namespace on netns, in its container on docker
    if (backend === 'netns') expect((await execOut(['ip', 'netns', 'pids', nsName(name, 'r', 'r1')])).split('\n')).toContain(String(d.pid));
    else expect((await rt.exec(name, 'r1', ['ps'])).stdout).toMatch(/sleep 1000/);
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
    if (backend === 'netns' && d.pid) expect(() => process.kill(d.pid!, 0)).toThrow(); // ended by down
  });

  it('a node that exits during up is reported with the end of its log, and the lab is rolled back', async () => {
    const name = lab('qmt-exits');
    const script = join(scratch, 'exits.mjs');
    writeFileSync(
      script,
      "console.log('starting the stand-in'); console.error('fatal: the stand-in gives up'); process.exit(3);\n",
    );
    const topo = threeRouterLab(name);
    topo.nodes = topo.nodes.slice(0, 1);
    await expect(
      rt.up(topo, { nodeCommand: [process.execPath, script], readyTimeoutMs: 30_000 }),
    ).rejects.toThrow(
      /node h1a exited \(code 3\) before answering \/status; its log ends:\n[^]*fatal: the stand-in gives up/,
    );
    expect(await labLeftovers(name)).toEqual([]);
  });

  it('shaping: 25 ms each way on a network gives a 50 ms RTT; 10 % loss on a node loses 10 % of its packets', async () => {
    const name = lab('qmt-shape');
    const topo: ResolvedTopology = {
      name,
      sourceFile: '(test)',
      networks: [
        { name: 'slow', kind: 'public', subnet: '198.18.1.0/24' },
        { name: 'lossy', kind: 'public', subnet: '198.18.2.0/24' },
      ],
      routers: [],
      nodes: [
        host('a', 'slow', '198.18.1.10', null),
        host('b', 'slow', '198.18.1.11', null),
        host('c', 'lossy', '198.18.2.10', null),
        host('d', 'lossy', '198.18.2.11', null),
      ],
      links: [
        { network: 'slow', node: null, delayMs: 25, jitterMs: 0, lossPct: 0, rateKbit: 0 },
        { network: 'lossy', node: 'c', delayMs: 0, jitterMs: 0, lossPct: 10, rateKbit: 0 },
      ],
      expectations: [],
    };
    const handle = await rt.up(topo, { startNodes: false });
    expect(handle.shaping).toMatch(/netem|NFQUEUE/);
    const stopB = await startEcho(nsName(name, 'h', 'b'), '198.18.1.11:7000');
    const stopD = await startEcho(nsName(name, 'h', 'd'), '198.18.2.11:7000');
    try {
      const [rtt, loss] = await Promise.all([
        probe(nsName(name, 'h', 'a'), '198.18.1.11:7000', 200, 10),
        probe(nsName(name, 'h', 'c'), '198.18.2.11:7000', 2000, 2),
      ]);
      const rttMs = median(rtt.rttsMs);
      const lossPct = (100 * (loss.sent - loss.received)) / loss.sent;
      console.log(
        `shaping on ${backend} (${handle.shaping}): median RTT ${rttMs.toFixed(2)} ms asked 50; loss ${lossPct.toFixed(1)} % asked 10`,
      );
      expect(rtt.received).toBe(rtt.sent);
      expect(rttMs).toBeGreaterThan(45);
      expect(rttMs).toBeLessThan(55);
      expect(lossPct).toBeGreaterThan(7);
      expect(lossPct).toBeLessThan(13);
    } finally {
      stopB();
      stopD();
    }
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
  });

  it('two home LANs share 192.168.1.0/24 behind different routers, each host NATed by its own router', async () => {
    const name = lab('qmt-overlap');
    const topo: ResolvedTopology = {
      name,
      sourceFile: '(test)',
      networks: [
        { name: 'pub', kind: 'public', subnet: '203.0.113.0/24' },
        { name: 'home-a', kind: 'lan', subnet: '192.168.1.0/24' },
        { name: 'home-b', kind: 'lan', subnet: '192.168.1.0/24' },
      ],
      routers: [
        router('ra', 'port-restricted-cone', ['pub', '203.0.113.2'], ['home-a', '192.168.1.1']),
        router('rb', 'symmetric', ['pub', '203.0.113.3'], ['home-b', '192.168.1.1']),
      ],
      // the same address in both homes
      nodes: [
        host('srv', 'pub', '203.0.113.10', null),
        host('a', 'home-a', '192.168.1.10', '192.168.1.1'),
        host('b', 'home-b', '192.168.1.10', '192.168.1.1'),
      ],
      links: [],
      expectations: [],
    };
    await rt.up(topo, { startNodes: false });
    const stop = await startEcho(nsName(name, 'h', 'srv'), '203.0.113.10:7000');
    try {
      const [a, b] = await Promise.all([
        probe(nsName(name, 'h', 'a'), '203.0.113.10:7000', 5, 20),
        probe(nsName(name, 'h', 'b'), '203.0.113.10:7000', 5, 20),
      ]);
      expect(a.received).toBe(5);
      expect(b.received).toBe(5);
      // each reached the server from its own router's public address
      expect(a.seenAs?.split(':')[0]).toBe('203.0.113.2');
      expect(b.seenAs?.split(':')[0]).toBe('203.0.113.3');
    } finally {
      stop();
    }
    await rt.down(name);
    expect(await labLeftovers(name)).toEqual([]);
  });

  // only netns has something to prove here; docker labs run beside their engine by nature
  if (backend === 'netns')
    it.runIf(dockerAnswers())(
      'keeps working beside a running Docker engine (FORWARD policy DROP, br_netfilter calling iptables)',
      async () => {
        // what a running engine does to the host: the netns lab must not depend on either
        expect((await execOut(['iptables', '-S', 'FORWARD'])).split('\n')[0]).toBe('-P FORWARD DROP');
        expect((await execOut(['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'])).trim()).toBe('1');
        const name = lab('qmt-beside');
        const topo = threeRouterLab(name);
        topo.nodes.push(host('srv', 'pub', '203.0.113.10', null));
        await rt.up(topo, { startNodes: false });
        const stop = await startEcho(nsName(name, 'h', 'srv'), '203.0.113.10:7000');
        try {
          // through each NAT to the public segment, and across a LAN's bridge
          const res = await Promise.all(
            ['h1a', 'h2a', 'h3a'].map((h) => probe(nsName(name, 'h', h), '203.0.113.10:7000', 5, 20)),
          );
          expect(res.map((r) => r.received)).toEqual([5, 5, 5]);
          expect(res.map((r) => r.seenAs?.split(':')[0])).toEqual([
            '203.0.113.2',
            '203.0.113.3',
            '203.0.113.4',
          ]);
          const lan = await rt.exec(name, 'h1a', ['ip', 'route', 'get', '10.0.1.11']);
          expect(lan.stdout).toContain('dev eth0');
        } finally {
          stop();
        }
        await rt.down(name);
        expect(await labLeftovers(name)).toEqual([]);
      },
    );
});
