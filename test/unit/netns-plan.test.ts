/** The lab build plan, the netns management lines and the shaping plan are pure: checked here without root. */
import { describe, expect, it } from 'vitest';
import { planLab, planNamespaces } from '../../cli/runtime/plan/lab-plan.js';
import { lossScript, planShaping } from '../../cli/runtime/plan/shaping-plan.js';
import { nodeArgv } from '../../cli/runtime/plan/node-argv.js';
import { mgmtLines } from '../../cli/runtime/plan/mgmt-plan.js';
import { checkLabName, mgmtVethName, nsName } from '../../cli/runtime/names.js';
import { host, router, threeRouterLab } from '../lab/lab-fixtures.js';

describe('planLab', () => {
  const topo = threeRouterLab('demo');
  const plan = planLab(topo, 7);

  it('names every namespace with the lab prefix, in build order', () => {
    const all = planNamespaces(plan);
    expect(all).toHaveLength(4 + 3 + 6);
    expect(all.every((n) => n.startsWith('qm-demo_'))).toBe(true);
    expect(all.slice(0, 4)).toEqual(['pub', 'lan1', 'lan2', 'lan3'].map((n) => nsName('demo', 'n', n)));
  });

  it('keeps interface names within 15 characters and routes hosts via their gateway', () => {
    const names = [...plan.attachments.flatMap((a) => [a.iface, a.port]), ...mgmtLines('demo', plan.mgmt!).rootLinks];
    expect(names.every((n) => n.length <= 15)).toBe(true);
    expect(plan.inNs.hosts.get(nsName('demo', 'h', 'h2a'))).toContain('route add default via 10.0.2.1');
    expect(plan.nft.get(nsName('demo', 'r', 'r2'))).toContain('masquerade random');
    expect(plan.sysctls.get(nsName('demo', 'r', 'r1'))?.['net.ipv4.ip_forward']).toBe('1');
  });

  it('gives each host a management address on an isolated bridge port', () => {
    const lines = mgmtLines('demo', plan.mgmt!);
    expect(plan.mgmt).toMatchObject({ subnet: '172.31.7.0/24', gateway: '172.31.7.1', bridge: lines.rootLinks[0] });
    expect(plan.nodes.filter((n) => n.kind === 'host').map((n) => n.mgmtAddress)).toEqual(
      ['2', '3', '4', '5', '6', '7'].map((x) => `172.31.7.${x}`),
    );
    expect(plan.mgmt!.hosts.map((h) => h.address)).toEqual(['2', '3', '4', '5', '6', '7'].map((x) => `172.31.7.${x}`));
    expect(lines.root.filter((l) => l.includes('isolated on'))).toHaveLength(6);
    expect(lines.inNs.get(nsName('demo', 'h', 'h1a'))).toEqual(['addr add 172.31.7.2/24 dev mgmt0', 'link set mgmt0 up']);
  });

  it('routes the LAN of a router without NAT from its WAN side, and stacks a NAT on its upstream', () => {
    const t = threeRouterLab('demo2');
    t.routers.push(router('plain', 'none', ['pub', '203.0.113.50'], ['lan4', '10.0.4.1']));
    t.networks.push({ name: 'lan4', kind: 'lan', subnet: '10.0.4.0/24' });
    t.networks.push({ name: 'lan5', kind: 'lan', subnet: '192.168.5.0/24' });
    t.routers.push(router('inner', 'symmetric', ['lan1', '10.0.1.2'], ['lan5', '192.168.5.1']));
    const p = planLab(t, null);
    expect(p.inNs.routers.get(nsName('demo2', 'r', 'r1'))).toContain('route add 10.0.4.0/24 via 203.0.113.50');
    expect(p.inNs.routers.get(nsName('demo2', 'r', 'inner'))).toContain('route add default via 10.0.1.1');
    expect(p.mgmt).toBeNull();
  });

  it('rejects lab names that would break the prefix sweep, and duplicate names', () => {
    expect(() => checkLabName('a_b')).toThrow(/no "_"/);
    const t = threeRouterLab('dup');
    t.nodes.push(host('r1', 'pub', '203.0.113.77', null));
    expect(() => planLab(t, 1)).toThrow(/"r1" is used twice/);
    expect(mgmtVethName('x'.repeat(40), 252).length).toBeLessThanOrEqual(15);
  });
});

describe('planShaping', () => {
  const links = [
    { network: 'lan1', node: null, delayMs: 20, jitterMs: 2, lossPct: 0, rateKbit: 0 },
    { network: 'lan1', node: 'h1a', delayMs: 5, jitterMs: 0, lossPct: 1.5, rateKbit: 1000 },
  ];
  const topo = threeRouterLab('shp', links);
  const targets = planShaping(topo, planLab(topo, null));

  it('shapes every interface on a network, a node link overriding its network', () => {
    expect(targets.map((t) => `${t.namespace}/${t.iface}:${t.delayMs}`).sort()).toEqual(
      [`${nsName('shp', 'h', 'h1a')}/eth0:5`, `${nsName('shp', 'h', 'h1b')}/eth0:20`, `${nsName('shp', 'r', 'r1')}/lan0:20`].sort(),
    );
  });

  it('turns loss into an nft numgen rule in basis points', () => {
    expect(lossScript(targets)).toContain('oifname "eth0" numgen random mod 10000 < 150 drop');
  });

  it('rejects jitter above delay', () => {
    const bad = threeRouterLab('bad', [{ network: 'pub', node: null, delayMs: 1, jitterMs: 2, lossPct: 0, rateKbit: 0 }]);
    expect(() => planShaping(bad, planLab(bad, null))).toThrow(/jitter \(2 ms\) exceeds delay/);
  });
});

describe('nodeArgv', () => {
  it('listens on every interface advertising eth0, passes the bootstrap nodes, metrics on the management address and the key file', () => {
    const topo = threeRouterLab('args');
    topo.nodes[0]!.role = 'bootstrap';
    topo.nodes[1]!.args = ['--log-level', 'debug'];
    expect(nodeArgv(topo, topo.nodes[1]!, { command: ['node', 'q.js'], mgmtAddress: '172.31.1.3', keyFile: '/k' })).toEqual([
      'node', 'q.js', 'node', '--listen', '0.0.0.0:4433', '--interface', 'eth0', '--bootstrap', '10.0.1.10:4433',
      '--metrics', '172.31.1.3:9464', '--key', '/k', '--log-level', 'debug',
    ]);
    expect(nodeArgv(topo, topo.nodes[0]!, { command: ['n'], mgmtAddress: 'm', keyFile: 'k' })).not.toContain('--bootstrap');
  });
});
