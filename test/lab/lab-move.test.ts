/**
 * `quicmesh-lab move` against the real kernel (root only). One lab, the cases in order: a host behind
 * one NAT moves to the other router's shaped LAN (new address and gateway, reachable, NATed by the new
 * router, shaped, same node process), renumbers there, bad input changes nothing, a failure after the
 * switch-over puts it back, it moves home through the CLI verb and on to the public segment, and
 * `down` leaves nothing behind.
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { readState, statePath } from '../../cli/runtime/state.js';
import { captureIO } from '../../cli/lab/io.js';
import { main } from '../../cli/quicmesh-lab.js';
import { nsName } from '../../cli/runtime/names.js';
import { cmdline } from '../../cli/runtime/wiring/teardown.js';
import type { ProbeResult } from '../../cli/runtime/tools/udp-probe.js';
import type { MoveResult } from '../../cli/runtime/runtime.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { ConfigError } from '../../src/errors.js';
import { pollUntil } from '../support/poll.js';
import { host, isRootWithTools, labBackends, labLeftovers, labName, router } from './lab-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROBE = join(here, '..', '..', 'cli', 'runtime', 'tools', 'udp-probe.ts');
const FAKE_NODE = join(here, 'fake-node.mjs');
describe.runIf(isRootWithTools()).each(labBackends())('quicmesh-lab move (%s)', (backend) => {
  const LAB = labName('move-test', backend);
  const ECHO = '192.0.2.10:7000';
  const rt = getRuntime(backend);
  const hostNs = nsName(LAB, 'h', 'm');

  /** Public segment, ra (port-restricted cone) in front of lan-a, rb (symmetric) in front of lan-b, which is shaped. */
  function moveLab(): ResolvedTopology {
    return {
      name: LAB,
      sourceFile: '(test)',
      networks: [
        { name: 'pub', kind: 'public', subnet: '192.0.2.0/24' },
        { name: 'lan-a', kind: 'lan', subnet: '10.77.1.0/24' },
        { name: 'lan-b', kind: 'lan', subnet: '10.77.2.0/24' },
      ],
      routers: [
        router('ra', 'port-restricted-cone', ['pub', '192.0.2.2'], ['lan-a', '10.77.1.1']),
        router('rb', 'symmetric', ['pub', '192.0.2.3'], ['lan-b', '10.77.2.1']),
      ],
      nodes: [
        host('srv', 'pub', '192.0.2.10', null),
        host('m', 'lan-a', '10.77.1.10', '10.77.1.1'),
        host('o', 'lan-b', '10.77.2.10', '10.77.2.1'),
      ],
      links: [{ network: 'lan-b', node: null, delayMs: 10, jitterMs: 0, lossPct: 0, rateKbit: 0 }],
      expectations: [],
    };
  }

  function execOut(argv: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
  }

  /** What the host namespace itself says: eth0's IPv4 addresses and the default route's gateway. */
  async function attachment(ns: string): Promise<{ addresses: string[]; gateway: string | null }> {
    const addrs = JSON.parse(
      await execOut(['ip', '-n', ns, '-j', '-4', 'addr', 'show', 'dev', 'eth0']),
    ) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
    const routes = JSON.parse(await execOut(['ip', '-n', ns, '-j', 'route', 'show', 'default'])) as Array<{
      gateway?: string;
      dev: string;
    }>;
    return {
      addresses: addrs.flatMap((a) => a.addr_info.map((i) => `${i.local}/${i.prefixlen}`)),
      gateway: routes.find((r) => r.dev === 'eth0')?.gateway ?? null,
    };
  }

  /** Ports on a network's switch (its veth ends). */
  async function ports(network: string): Promise<string[]> {
    const out = await execOut(['ip', '-n', nsName(LAB, 'n', network), '-o', 'link', 'show']);
    return [...out.matchAll(/^\d+:\s+(p\d+)@/gm)].map((m) => m[1]!).sort();
  }

  async function probe(count = 20, intervalMs = 10): Promise<ProbeResult> {
    const out = await execOut([
      'ip',
      'netns',
      'exec',
      hostNs,
      process.execPath,
      '--import',
      'tsx',
      PROBE,
      'probe',
      ECHO,
      String(count),
      String(intervalMs),
    ]);
    return JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  /** The UDP echo on the public host, with every source it has seen ("from ADDR:PORT" lines). */
  interface Echo {
    sources: string[];
    stop(): void;
  }

  function startEcho(): Promise<Echo> {
    const ns = nsName(LAB, 'h', 'srv');
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', PROBE, 'echo', ECHO],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const echo: Echo = { sources: [], stop: () => child.kill('SIGTERM') };
    let buf = '';
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`udp echo exited with ${code}`)));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l === 'ready') resolve(echo);
          else if (l.startsWith('from ')) echo.sources.push(l.slice(5));
        }
      });
    });
  }

  /** A probe run from the moved host: all replies back, and the echo saw it from `publicAddress` (its NAT). */
  async function reachesThrough(echo: Echo, publicAddress: string): Promise<ProbeResult> {
    const seen = echo.sources.length;
    const res = await probe();
    expect(res.received).toBe(res.sent);
    const fresh = await pollUntil(
      'the echo to report the probe source',
      async () => (echo.sources.length > seen ? echo.sources.slice(seen) : null),
      { timeoutMs: 5000, intervalMs: 20 },
    );
    expect(fresh.every((s) => s.startsWith(`${publicAddress}:`))).toBe(true);
    return res;
  }

  const nodePid = () => readState(LAB)?.nodes.find((n) => n.name === 'm')?.process?.pid ?? undefined;
  const shaperOfM = () => readState(LAB)?.processes.filter((p) => p.role === `shaper:${hostNs}:eth0`) ?? [];

  let echo: Echo;
  let pid: number | undefined;

  beforeAll(async () => {
    await rt.down(LAB).catch(() => {});
    await rt.up(moveLab(), { nodeCommand: [process.execPath, FAKE_NODE], readyTimeoutMs: 20_000 });
    echo = await startEcho();
    pid = nodePid();
  }, 60_000);

  afterAll(async () => {
    echo?.stop();
    await rt.down(LAB).catch(() => {});
  }, 60_000);

  it('moves a host from behind one NAT to another LAN: address, gateway, reachability, the new NAT, shaping, same process', async () => {
    expect(await attachment(hostNs)).toEqual({ addresses: ['10.77.1.10/24'], gateway: '10.77.1.1' });
    const before = await reachesThrough(echo, '192.0.2.2');
    expect(median(before.rttsMs)).toBeLessThan(5);
    expect(await ports('lan-a')).toHaveLength(2);

    const r: MoveResult = await rt.moveHost!(LAB, 'm', 'lan-b');
    console.log(`move m lan-a → lan-b: ${r.ms} ms (shaping: ${r.shaping})`);
    expect(r).toMatchObject({
      node: 'm',
      from: { network: 'lan-a', address: '10.77.1.10' },
      to: { network: 'lan-b', address: '10.77.2.2', gateway: '10.77.2.1' },
    });
    expect(r.shaping).toBe('delay 10 ms (link on network lan-b)');

    expect(await attachment(hostNs)).toEqual({ addresses: ['10.77.2.2/24'], gateway: '10.77.2.1' });
    const after = await reachesThrough(echo, '192.0.2.3');
    // lan-b's 10 ms apply to the host's new eth0 and to rb's lan0: 20 ms round trip
    expect(median(after.rttsMs)).toBeGreaterThan(18);
    // the old pair is gone with its switch port; the new port is on lan-b's switch
    expect(await ports('lan-a')).toHaveLength(1);
    expect(await ports('lan-b')).toHaveLength(3);

    const st = await rt.status(LAB);
    const m = st.nodes.find((n) => n.name === 'm')!;
    expect(m).toMatchObject({ network: 'lan-b', addresses: ['10.77.2.2/24'], nat: 'symmetric' });
    expect(m.live?.reachable).toBe(true); // mgmt0 untouched: /status still answers
    expect(nodePid()).toBe(pid);
    expect(() => process.kill(pid!, 0)).not.toThrow();
    expect((await rt.exec(LAB, 'm', ['ip', '-br', 'addr', 'show', 'dev', 'eth0'])).stdout).toContain(
      '10.77.2.2/24',
    );
  });

  it('renumbers in place on its network (a new lease): new address, same gateway, still NATed by the same router', async () => {
    const shaper = shaperOfM();
    // two at once: one renumbers (to the lowest free address), the other is refused and changes nothing
    const both = await Promise.allSettled([rt.moveHost!(LAB, 'm', 'lan-b'), rt.moveHost!(LAB, 'm', 'lan-b')]);
    expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((x) => x.status === 'rejected')!;
    expect(String(refused.reason)).toContain(`another move is running on lab ${LAB}`);
    expect(await attachment(hostNs)).toEqual({ addresses: ['10.77.2.3/24'], gateway: '10.77.2.1' });

    const r = await rt.moveHost!(LAB, 'm', 'lan-b', { address: '10.77.2.50' });
    console.log(`renumber m on lan-b: ${r.ms} ms`);
    expect(r.to).toEqual({ network: 'lan-b', address: '10.77.2.50', gateway: '10.77.2.1' });
    expect(await attachment(hostNs)).toEqual({ addresses: ['10.77.2.50/24'], gateway: '10.77.2.1' });
    const res = await reachesThrough(echo, '192.0.2.3');
    expect(median(res.rttsMs)).toBeGreaterThan(18);
    expect(shaperOfM()).toEqual(shaper); // same link, same shaping
    expect(readState(LAB)?.nodes.find((n) => n.name === 'm')?.addresses).toEqual(['10.77.2.50/24']);
  });

  it('refuses bad input with a ConfigError naming the problem, and changes nothing', async () => {
    const snapshot = async () => ({
      at: await attachment(hostNs),
      a: await ports('lan-a'),
      b: await ports('lan-b'),
      rec: readState(LAB)?.nodes,
    });
    const before = await snapshot();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => rt.moveHost!(LAB, 'm', 'mars'), /has no network "mars"/],
      [() => rt.moveHost!(LAB, 'zz', 'lan-a'), /has no node "zz"/],
      [() => rt.moveHost!(LAB, 'ra', 'lan-b'), /"ra" is a router/],
      [
        () => rt.moveHost!(LAB, 'm', 'lan-a', { address: '10.77.2.9' }),
        /outside network lan-a \(10\.77\.1\.0\/24\)/,
      ],
      [() => rt.moveHost!(LAB, 'm', 'lan-a', { address: '10.77.1.1' }), /taken by router ra/],
      [() => rt.moveHost!(LAB, 'm', 'lan-b', { address: '10.77.2.10' }), /taken by o/],
      [() => rt.moveHost!(LAB, 'm', 'lan-a', { address: '10.77.1.255' }), /broadcast address/],
      [() => rt.moveHost!('move-none', 'm', 'lan-a'), /no lab named "move-none" is up/],
    ];
    for (const [move, msg] of cases) {
      const p = move(); // one at a time: concurrent moves of a lab are refused
      await expect(p).rejects.toThrow(msg);
      await expect(p).rejects.toBeInstanceOf(ConfigError);
    }
    const io = captureIO();
    expect(await main(['move', 'm', 'mars', '--lab', LAB], io)).toBe(2);
    expect(io.err.join('')).toContain('has no network "mars"');
    expect(await snapshot()).toEqual(before);
  });

  it('a failure midway leaves the host on its old network: before the switch-over nothing changes, after it the host is put back', async () => {
    const before = { at: await attachment(hostNs), a: await ports('lan-a'), rec: readState(LAB)?.nodes };
    await expect(rt.moveHost!(LAB, 'm', 'lan-a', { failAfterStep: 'attach' })).rejects.toThrow(
      /old attachment was not touched: injected failure/,
    );
    expect({ at: await attachment(hostNs), a: await ports('lan-a'), rec: readState(LAB)?.nodes }).toEqual(
      before,
    );

    await expect(rt.moveHost!(LAB, 'm', 'lan-a', { failAfterStep: 'commit' })).rejects.toThrow(
      /back on lan-b 10\.77\.2\.50: injected failure/,
    );
    expect(await attachment(hostNs)).toEqual(before.at);
    expect(await ports('lan-a')).toEqual(before.a); // the half-made attachment to lan-a is gone
    expect(readState(LAB)?.nodes).toEqual(before.rec);
    const res = await reachesThrough(echo, '192.0.2.3');
    expect(median(res.rttsMs)).toBeGreaterThan(18); // lan-b's shaping is back on the restored eth0
    expect(shaperOfM()).toHaveLength(1);
    expect(() => process.kill(shaperOfM()[0]!.pid, 0)).not.toThrow();
  });

  it("moves home through the CLI verb (--json); the old network's shaping does not follow it", async () => {
    const io = captureIO();
    expect(await main(['move', 'm', 'lan-a', '--lab', LAB, '--json'], io)).toBe(0);
    const r = JSON.parse(io.out.join('')) as MoveResult;
    console.log(`move m lan-b → lan-a (CLI): ${r.ms} ms`);
    expect(r).toMatchObject({
      node: 'm',
      from: { network: 'lan-b', address: '10.77.2.50' },
      to: { network: 'lan-a', address: '10.77.1.2', gateway: '10.77.1.1' },
      shaping: 'none',
    });
    expect(await attachment(hostNs)).toEqual({ addresses: ['10.77.1.2/24'], gateway: '10.77.1.1' });
    const res = await reachesThrough(echo, '192.0.2.2');
    expect(median(res.rttsMs)).toBeLessThan(5);
    expect(shaperOfM()).toEqual([]);
    const pids = (await execOut(['ip', 'netns', 'pids', hostNs])).split('\n').filter(Boolean).map(Number);
    expect(pids).toContain(pid); // the node (or its container's init) still runs there
    expect(pids.filter((p) => cmdline(p).includes('nfq-delay'))).toEqual([]); // no shaper left in the host namespace
  });

  it('moves to the public segment: the next free address there, no default route, seen unNATed', async () => {
    const r = await rt.moveHost!(LAB, 'm', 'pub');
    console.log(`move m lan-a → pub: ${r.ms} ms`);
    expect(r.to).toEqual({ network: 'pub', address: '192.0.2.1', gateway: null });
    expect(await attachment(hostNs)).toEqual({ addresses: ['192.0.2.1/24'], gateway: null });
    await reachesThrough(echo, '192.0.2.1');
  });

  it('down afterwards removes every namespace and link of the lab, also without its state file (the prefix sweep)', async () => {
    echo.stop();
    rmSync(statePath(LAB)); // as if the lab's state were lost in a crash
    await rt.down(LAB);
    expect(await labLeftovers(LAB)).toEqual([]);
  });
});
