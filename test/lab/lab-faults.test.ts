/**
 * Faults on a running lab against the real kernel (root only), on every backend: stop/start/restart of a
 * node (same launch, restart count, status shows it stopped), `link set` (a delay measured, then taken
 * away), `link down/up` (a node's port, a whole network), `partition`/`heal` (exact drops at the hosts,
 * refused where a NAT's address is shared across the cut) and `nat reset` (conntrack and the NAT sets
 * emptied at once). Connectivity is measured with the UDP prober from the hosts' namespaces.
 */
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { readState } from '../../cli/runtime/state.js';
import { captureIO } from '../../cli/lab/io.js';
import { main } from '../../cli/quicmesh-lab.js';
import { nsName } from '../../cli/runtime/names.js';
import type { ProbeResult } from '../../cli/runtime/tools/udp-probe.js';
import type { NodeProcessResult } from '../../cli/runtime/runtime.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { ConfigError } from '../../src/errors.js';
import { host, isRootWithTools, labBackends, labLeftovers, labName, router } from './lab-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROBE = join(here, '..', '..', 'cli', 'runtime', 'tools', 'udp-probe.ts');
const FAKE_NODE = join(here, 'fake-node.mjs');

function execOut(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.runIf(isRootWithTools(['ip', 'nft', 'iptables', 'tc', 'conntrack'])).each(labBackends())(
  'lab faults (%s)',
  (backend) => {
    const LAB = labName('faults-test', backend);
    const rt = getRuntime(backend);
    const ECHO = '192.0.2.10:7000';
    const ns = (h: string) => nsName(LAB, 'h', h);

    /** pub: srv; ra (port-restricted cone) in front of a1, a2; rb (symmetric) in front of b1, b2. */
    function faultLab(): ResolvedTopology {
      return {
        name: LAB,
        sourceFile: '(test)',
        networks: [
          { name: 'pub', kind: 'public', subnet: '192.0.2.0/24' },
          { name: 'lan-a', kind: 'lan', subnet: '10.78.1.0/24' },
          { name: 'lan-b', kind: 'lan', subnet: '10.78.2.0/24' },
        ],
        routers: [
          router('ra', 'port-restricted-cone', ['pub', '192.0.2.2'], ['lan-a', '10.78.1.1']),
          router('rb', 'symmetric', ['pub', '192.0.2.3'], ['lan-b', '10.78.2.1']),
        ],
        nodes: [
          host('srv', 'pub', '192.0.2.10', null),
          host('a-1', 'lan-a', '10.78.1.10', '10.78.1.1'),
          host('a-2', 'lan-a', '10.78.1.11', '10.78.1.1'),
          host('b-1', 'lan-b', '10.78.2.10', '10.78.2.1'),
          host('b-2', 'lan-b', '10.78.2.11', '10.78.2.1'),
        ],
        links: [],
        expectations: [],
      };
    }

    let stopEcho: (() => void) | undefined;

    function startEcho(): Promise<() => void> {
      const child = spawn(
        'ip',
        ['netns', 'exec', ns('srv'), process.execPath, '--import', 'tsx', PROBE, 'echo', ECHO],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      return new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`udp echo exited with ${code}`)));
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve(() => child.kill('SIGTERM'));
        });
      });
    }

    async function probe(from: string, count = 10, intervalMs = 10, target = ECHO): Promise<ProbeResult> {
      const out = await execOut([
        'ip',
        'netns',
        'exec',
        ns(from),
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

    beforeAll(async () => {
      await rt.down(LAB).catch(() => {});
      await rt.up(faultLab(), { nodeCommand: [process.execPath, FAKE_NODE], readyTimeoutMs: 30_000 });
      stopEcho = await startEcho();
    }, 120_000);

    afterAll(async () => {
      stopEcho?.();
      await rt.down(LAB).catch(() => {});
      expect(await labLeftovers(LAB)).toEqual([]);
    }, 120_000);

    it('stops, starts and restarts a node with the same launch; the state and status follow; bad requests are refused', async () => {
      const first = readState(LAB)!.nodes.find((n) => n.name === 'a-1')!;
      expect(first.process).toMatchObject({ running: true, restarts: 0 });

      const stopped = await rt.stopNode(LAB, 'a-1');
      expect(stopped).toMatchObject({ node: 'a-1', running: false, pid: null, restarts: 0 });
      expect(
        (
          await rt.backend.nodeLiveness(
            readState(LAB)!,
            readState(LAB)!.nodes.find((n) => n.name === 'a-1')!,
          )
        ).running,
      ).toBe(false);
      const st = await rt.status(LAB);
      const a1 = st.nodes.find((n) => n.name === 'a-1')!;
      expect(a1.live?.error).toBe('stopped');
      expect(a1.process?.running).toBe(false);
      // its machine stays: the network still reaches it and through it
      expect((await probe('a-1', 3)).received).toBe(3);
      await expect(rt.stopNode(LAB, 'a-1')).rejects.toThrow(/a-1 is already stopped/);

      const started = await rt.startNode(LAB, 'a-1');
      expect(started).toMatchObject({ node: 'a-1', running: true, restarts: 1, nodeId: 'fa'.repeat(32) });
      expect(started.readyMs).toBeGreaterThanOrEqual(0);
      await expect(rt.startNode(LAB, 'a-1')).rejects.toThrow(/a-1 is already running/);
      const after = readState(LAB)!.nodes.find((n) => n.name === 'a-1')!;
      expect(after.launch).toEqual(first.launch);
      if (backend === 'docker') expect(after.process?.container).toBe(first.process?.container);
      else expect(after.process?.pid).not.toBe(first.process?.pid);

      // the CLI verbs, --json; restarts of two nodes at once do not lose each other's state
      const io = captureIO();
      expect(await main(['restart', 'a-1', '--lab', LAB, '--json'], io)).toBe(0);
      const r = JSON.parse(io.out.join('')) as NodeProcessResult;
      expect(r).toMatchObject({ node: 'a-1', running: true, restarts: 2 });
      await Promise.all([rt.restartNode(LAB, 'a-2'), rt.restartNode(LAB, 'b-1')]);
      const counts = Object.fromEntries(
        readState(LAB)!
          .nodes.filter((n) => n.kind === 'host')
          .map((n) => [n.name, n.process?.restarts]),
      );
      expect(counts).toEqual({ srv: 0, 'a-1': 2, 'a-2': 1, 'b-1': 1, 'b-2': 0 });
      expect(
        (await rt.status(LAB)).nodes.filter((n) => n.kind === 'host').every((n) => n.live?.reachable),
      ).toBe(true);

      await expect(rt.stopNode(LAB, 'ra')).rejects.toBeInstanceOf(ConfigError);
      const bad = captureIO();
      expect(await main(['stop', 'nobody', '--lab', LAB], bad)).toBe(2);
      expect(bad.err.join('')).toContain('has no node or router "nobody"');
    }, 120_000);

    it('link set shapes a network on a running lab and takes the shaping away again', async () => {
      const before = median((await probe('a-1', 20)).rttsMs);
      const set = await rt.setLink(LAB, { network: 'lan-a', delayMs: 20 });
      expect(set).toMatchObject({ network: 'lan-a', node: null, interfaces: 3 });
      // both ends on lan-a delay what leaves them: 20 ms each way
      const slowed = median((await probe('a-1', 20)).rttsMs);
      console.log(
        `link set on ${backend} (${set.mode}): RTT ${before.toFixed(1)} → ${slowed.toFixed(1)} ms, asked +40`,
      );
      expect(slowed - before).toBeGreaterThan(35);
      expect(slowed - before).toBeLessThan(50);
      expect(readState(LAB)!.links).toEqual([
        { network: 'lan-a', node: null, delayMs: 20, jitterMs: 0, lossPct: 0, rateKbit: 0 },
      ]);
      // a node's own link replaces its network's on its interface; the other fields stay
      await rt.setLink(LAB, { network: 'lan-a', node: 'a-2', lossPct: 100 });
      expect((await probe('a-2', 5)).received).toBe(0);
      expect((await probe('a-1', 5)).received).toBe(5);
      await rt.setLink(LAB, { network: 'lan-a', node: 'a-2', lossPct: 0, delayMs: 0 });
      await rt.setLink(LAB, { network: 'lan-a', delayMs: 0 });
      expect(median((await probe('a-1', 20)).rttsMs)).toBeLessThan(before + 5);
      expect(median((await probe('a-2', 20)).rttsMs)).toBeLessThan(before + 5);
      await expect(rt.setLink(LAB, { network: 'lan-a', node: 'b-1', delayMs: 5 })).rejects.toThrow(
        /b-1 is on network lan-b/,
      );
      await expect(rt.setLink(LAB, { network: 'lan-a', jitterMs: 5 })).rejects.toThrow(
        /jitter \(5 ms\) exceeds delay/,
      );
    }, 120_000);

    it("link down cuts a node's cable (or a whole network's) at the switch, link up restores it unchanged", async () => {
      const down = await rt.setLinkState(LAB, 'lan-a', 'a-1', false);
      expect(down).toMatchObject({ state: 'down', ports: 1 });
      expect((await probe('a-1', 5)).received).toBe(0);
      expect((await probe('a-2', 5)).received).toBe(5);
      expect(readState(LAB)!.linkCuts).toEqual([{ network: 'lan-a', node: 'a-1' }]);
      // the machine keeps its address and routes: nothing to restore but the port
      expect((await rt.exec(LAB, 'a-1', ['ip', 'route', 'show', 'default'])).stdout).toContain(
        'via 10.78.1.1',
      );
      await rt.setLinkState(LAB, 'lan-a', 'a-1', true);
      expect((await probe('a-1', 5)).received).toBe(5);

      const io = captureIO();
      expect(await main(['link', 'down', 'pub', '--lab', LAB], io)).toBe(0);
      expect(io.out.join('')).toMatch(/network pub down: 3 switch port\(s\)/);
      expect((await probe('a-1', 3)).received).toBe(0);
      expect((await probe('b-1', 3)).received).toBe(0);
      await expect(rt.setLinkState(LAB, 'pub', 'srv', true)).rejects.toThrow(/the whole network pub is down/);
      expect(await main(['link', 'up', 'pub', '--lab', LAB], captureIO())).toBe(0);
      expect((await probe('a-1', 5)).received).toBe(5);
      expect(readState(LAB)!.linkCuts).toEqual([]);
    }, 120_000);

    it('partition drops traffic between the sides both ways until heal; a cut a shared NAT address cannot express is refused', async () => {
      // srv sees a-1 at ra's address, which a-2 shares: the drops go to a-1, keyed on srv's own address
      const p = await rt.partition(LAB, ['a-1'], ['srv']);
      expect(p).toMatchObject({ id: 1, sides: [['a-1'], ['srv']], machines: 1 });
      expect(readState(LAB)!.partitions?.[0]?.rules).toEqual([
        { namespace: ns('a-1'), machine: 'a-1', drop: ['192.0.2.10'] },
      ]);
      expect((await probe('a-1', 5)).received).toBe(0);
      expect((await probe('a-2', 5)).received).toBe(5);
      expect((await probe('b-1', 5)).received).toBe(5);
      // a whole NAT's LAN on one side: its public address is exact, and srv drops it
      await rt.partition(LAB, ['b'], ['srv']);
      expect((await probe('b-1', 5)).received).toBe(0);
      expect((await probe('b-2', 5)).received).toBe(0);
      // a-1 and b-1 each share their NAT's address with a node on neither side
      await expect(rt.partition(LAB, ['a-1'], ['b-1'])).rejects.toThrow(
        /a-1 sees b-1 at 192\.0\.2\.3, which also stands for b-2/,
      );
      const io = captureIO();
      expect(await main(['heal', '--lab', LAB, '--json'], io)).toBe(0);
      expect(JSON.parse(io.out.join(''))).toMatchObject({ partitions: 2 });
      for (const h of ['a-1', 'b-1', 'b-2']) expect((await probe(h, 5)).received).toBe(5);
      expect(readState(LAB)!.partitions).toEqual([]);
    }, 120_000);

    it('nat reset forgets every conntrack entry and NAT set element of the router at once; traffic finds new mappings', async () => {
      const before = await probe('a-1', 5);
      expect(before.received).toBe(5);
      const sets = await rt.exec(LAB, 'ra', ['nft', 'list', 'set', 'ip', 'qm_nat', 'held_ports']);
      expect(sets.stdout).toMatch(/elements = \{/);
      const io = captureIO();
      expect(await main(['nat', 'reset', 'ra', '--lab', LAB, '--json'], io)).toBe(0);
      const r = JSON.parse(io.out.join('')) as { conntrack: number; elements: number };
      expect(r.conntrack).toBeGreaterThan(0);
      expect(r.elements).toBeGreaterThan(0);
      const after = await rt.exec(LAB, 'ra', ['nft', 'list', 'table', 'ip', 'qm_nat']);
      expect(after.stdout).not.toMatch(/elements = \{/);
      expect((await rt.exec(LAB, 'ra', ['nft', 'list', 'tables'])).stdout).not.toContain('qm_reset');
      expect((await probe('a-1', 5)).received).toBe(5);
    }, 120_000);
  },
);
