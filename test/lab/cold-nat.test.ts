/**
 * forgetNatState at the packet level (root only), without quicmesh nodes: plain UDP agents in host
 * namespaces (udp-agent.mjs) behind real NAT routers. Two hosts behind port-restricted NATs punch a hole
 * by hand; a plain send then passes; after forgetNatState(a, b) the same send is dropped again, while a's
 * pinholes toward its bootstrap and toward c (behind b's NAT, sharing b's public address) still pass and
 * a keeps its mapping. Behind a restricted cone, the `contacted` permission for b's address goes too.
 *
 * "Dropped" is shown without waiting on a clock: the sender sends directly, then the same text through
 * the public server, which forwards it in user space; the relayed copy cannot overtake the direct one,
 * so when it arrives alone the direct one was dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { nsArgv, run } from '../../cli/runtime/exec.js';
import { nsName } from '../../cli/runtime/names.js';
import { parseNatTable } from '../../cli/runtime/plan/forget-plan.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';
import { host, isRootWithTools, labBackends, labName, router } from './lab-fixtures.js';
import { Agent, mapping as mappingAt, retry } from './udp-agents.js';

/** This run's lab: set per backend in the suite's first hook (the helpers read it when they run). */
let LAB = 'cold-nat-test';
const BOOT = '198.19.77.10:3478';
const WB = '198.19.77.2';

function topology(): ResolvedTopology {
  return {
    name: LAB,
    sourceFile: '(cold-nat test)',
    networks: [
      { name: 'pub', kind: 'public', subnet: '198.19.77.0/24' },
      { name: 'lan-a', kind: 'lan', subnet: '10.78.1.0/24' },
      { name: 'lan-b', kind: 'lan', subnet: '10.78.2.0/24' },
      { name: 'lan-r', kind: 'lan', subnet: '10.78.3.0/24' },
    ],
    routers: [
      router('nat-a', 'port-restricted-cone', ['pub', '198.19.77.1'], ['lan-a', '10.78.1.1']),
      router('nat-b', 'port-restricted-cone', ['pub', WB], ['lan-b', '10.78.2.1']),
      router('nat-r', 'restricted-cone', ['pub', '198.19.77.3'], ['lan-r', '10.78.3.1']),
    ],
    nodes: [
      host('boot', 'pub', '198.19.77.10', null),
      host('a', 'lan-a', '10.78.1.2', '10.78.1.1'),
      host('b', 'lan-b', '10.78.2.2', '10.78.2.1'),
      host('c', 'lan-b', '10.78.2.3', '10.78.2.1'),
      host('r', 'lan-r', '10.78.3.2', '10.78.3.1'),
    ],
    links: [],
    expectations: [],
  };
}

let seq = 0;

/** `who`'s public mapping of its socket on `port`, as the public server sees it. */
const mapping = (who: Agent, port: number): Promise<string> => mappingAt(who, port, BOOT);

/** The manual hole punch: both send to the other's mapping until each has heard the other. */
async function punch(x: Agent, mx: string, y: Agent, my: string, port = 4433): Promise<void> {
  const tag = `punch-${++seq}`;
  await retry(
    `${x.name} and ${y.name} punch`,
    () => {
      x.send(port, my, `${tag} ${x.name}`);
      y.send(port, mx, `${tag} ${y.name}`);
    },
    () => x.has(`${tag} ${y.name}`, my) && y.has(`${tag} ${x.name}`, mx),
  );
}

/** `from` sends to `to` (the receiver's mapping); resolves once the datagram arrived (retries mask nothing but loss). */
async function expectPasses(from: Agent, port: number, to: string, rx: Agent): Promise<void> {
  const msg = `plain-${++seq}`;
  await retry(`${from.name}:${port} → ${rx.name} (${to}) passes`, () => from.send(port, to, msg), () => rx.has(msg));
}

/** `from`'s direct send to `to` is dropped: its copy relayed by the public server arrives, the direct one never does. */
async function expectDropped(from: Agent, port: number, to: string, rx: Agent): Promise<void> {
  const tag = `drop-${++seq}`;
  from.send(port, to, `direct ${tag}`);
  await retry(`relayed copy of ${tag} reaches ${rx.name}`, () => from.send(port, BOOT, `fwd ${to} relayed ${tag}`), () => rx.has(`relayed ${tag}`));
  expect(rx.has(`direct ${tag}`), `${from.name}:${port} → ${to} should be dropped`).toBe(false);
}

async function contacted(routerName: string): Promise<string[]> {
  const { stdout } = await run(nsArgv(nsName(LAB, 'r', routerName), ['nft', '-j', 'list', 'set', 'ip', 'qm_nat', 'contacted']));
  return parseNatTable(stdout).contacted.map((c) => `${c.remote} . ${c.port}`);
}

describe.runIf(isRootWithTools(['ip', 'nft', 'conntrack'])).each(labBackends())('forgetNatState on real NAT routers (%s)', (backend) => {
  beforeAll(() => {
    LAB = labName('cold-nat-test', backend);
  });
  const rt = getRuntime(backend);
  const agents = new Map<string, Agent>();
  const agent = (n: string) => agents.get(n)!;

  beforeAll(async () => {
    await rt.down(LAB).catch(() => {}); // leftovers of an aborted earlier run
    await rt.up(topology(), { startNodes: false });
    for (const n of ['boot', 'a', 'b', 'c', 'r']) agents.set(n, Agent.start(nsName(LAB, 'h', n), n));
    await Promise.all([agent('boot').open(3478), ...['a', 'b', 'c', 'r'].map((n) => agent(n).open(4433)), agent('b').open(5555)]);
  }, 60_000);

  afterAll(async () => {
    for (const a of agents.values()) a.stop();
    await rt.down(LAB);
  }, 60_000);

  it('port-restricted × port-restricted: the punched pinholes go, the bootstrap and a↔c pinholes and the mapping stay', async () => {
    const [a, b, c, boot] = ['a', 'b', 'c', 'boot'].map(agent) as [Agent, Agent, Agent, Agent];
    const MA = await mapping(a, 4433);
    const MB = await mapping(b, 4433);
    const MC = await mapping(c, 4433);
    expect(MB.split(':')[0]).toBe(WB);
    expect(MC.split(':')[0]).toBe(WB); // c shares b's public address, not its port
    await expectDropped(b, 4433, MA, a); // cold: a never sent to b

    await punch(a, MA, b, MB);
    await punch(a, MA, c, MC);
    await expectPasses(b, 4433, MA, a); // warm: the punched pinhole admits a plain send

    const t0 = performance.now();
    const res = await rt.forgetNatState!(LAB, 'a', 'b');
    const ms = performance.now() - t0;
    console.log(`forgetNatState(a, b): ${ms.toFixed(1)} ms, ${res.entries} entries in ${res.routers} routers`);
    expect(res.routers).toBe(2);
    expect(res.entries).toBe(2); // a→b at nat-a, b→a at nat-b

    await expectDropped(b, 4433, MA, a); // cold again (its relayed copy passed a's bootstrap pinhole)
    await expectPasses(c, 4433, MA, a); // a↔c, behind the same NAT as b, untouched
    await expectPasses(boot, 3478, MA, a); // a's pinhole toward its bootstrap, untouched
    expect(await mapping(a, 4433)).toBe(MA); // and its mapping: its connections do not rebind
    expect(await mapping(b, 4433)).toBe(MB);
  });

  it('restricted cone: the contacted permission for b\'s address goes, the one for the bootstrap stays', async () => {
    const [r, b, boot] = ['r', 'b', 'boot'].map(agent) as [Agent, Agent, Agent];
    const MR = await mapping(r, 4433);
    const MB = await mapping(b, 4433);
    await mapping(b, 5555);
    await punch(r, MR, b, MB);
    // address-dependent filtering: b's other socket (another port, same address) gets in through `contacted`
    await expectPasses(b, 5555, MR, r);
    const rPort = MR.split(':')[1];
    expect(await contacted('nat-r')).toEqual(expect.arrayContaining([`${WB} . ${rPort}`, `198.19.77.10 . ${rPort}`]));

    const res = await rt.forgetNatState!(LAB, 'r', 'b');
    expect(res.routers).toBe(2);

    const left = await contacted('nat-r');
    expect(left).not.toContain(`${WB} . ${rPort}`);
    expect(left).toContain(`198.19.77.10 . ${rPort}`);
    await expectDropped(b, 5555, MR, r);
    await expectDropped(b, 4433, MR, r);
    await expectPasses(boot, 3478, MR, r);
    expect(await mapping(r, 4433)).toBe(MR);
  });

  it('names the hosts it does not know', async () => {
    await expect(rt.forgetNatState!(LAB, 'a', 'nobody')).rejects.toThrow(/no host "nobody"/);
  });
});
