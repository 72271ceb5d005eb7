/**
 * NodeAddresses' NAT mapping watch, on a ManualClock with fakes: a node behind a NAT asks its bootstrap
 * peer for its reflexive address every period; when the router maps it anew (a reboot) it pings its
 * relays, punches toward its peers (SmartConnector.refreshPaths, so connections they opened migrate) and
 * republishes its record. A public node (reflexive = own address) asks nothing.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { NodeAddresses, type NodeAddressesDeps } from '../../src/traversal/node-addresses.js';
import { Keypair } from '../../src/identity/keypair.js';
import { flush } from '../support/virtual-time.js';

const SEED = { addr: '203.0.113.5:4433', nodeId: 'ab'.repeat(32) };

function setup(own: string, mapping: () => string, mappingCheckMs = 1_000) {
  const clock = new ManualClock();
  const calls: string[] = [];
  const silent = { listener: undefined as (() => void) | undefined };
  const deps = {
    meshNode: {
      contact: { addr: own },
      transport: {
        capabilities: {
          peerSilence: {
            onPeerSilent: (l: () => void) => {
              silent.listener = l;
              return () => void (silent.listener = undefined);
            },
          },
        },
      },
      request: async () => {
        calls.push('WhatIsMyAddr');
        return { msg: { type: 'YourAddr', addr: mapping() } };
      },
    },
    dht: {
      publishAddress: async (_k: unknown, addrs: string[]) => {
        calls.push(`publish ${addrs.join(',')}`);
        return { accepted: 1, local: null };
      },
    },
    keypair: Keypair.generate(new Uint8Array(32).fill(7)),
    components: { clock, rng: new SeededRng(1), logger: silentLogger, metrics: noopMetrics },
    relayLink: {
      onReachabilityChange: () => () => {},
      keepAlive: async () => void calls.push('relay keepalive'),
      reachableEndpoints: () => [],
    },
    connector: () => ({ refreshPaths: () => (calls.push('refreshPaths'), 1) }),
    mappingCheckMs,
  } as unknown as NodeAddressesDeps;
  return { clock, calls, silent, addresses: new NodeAddresses(deps) };
}

async function runTo(clock: ManualClock, until: number): Promise<void> {
  await flush();
  for (let at = clock.nextAt(); at !== undefined && at <= until; at = clock.nextAt()) {
    clock.step();
    await flush();
  }
  if (clock.now() < until) clock.advance(until - clock.now()); // nothing left due before `until`
}

describe('the NAT mapping watch', () => {
  it('notices a new mapping within a period and renews: relays, punches toward peers, record', async () => {
    let mapped = '198.51.100.1:40000';
    const { clock, calls, addresses } = setup('192.168.1.2:4433', () => mapped);
    await addresses.learnReflexive(SEED);
    await addresses.publishRecord();
    await runTo(clock, 3_500);
    expect(calls.filter((c) => c !== 'WhatIsMyAddr')).toEqual(['publish 198.51.100.1:40000,192.168.1.2:4433']);
    expect(calls.filter((c) => c === 'WhatIsMyAddr').length).toBe(4); // the first, then one a second
    calls.length = 0;
    mapped = '198.51.100.1:51234'; // the router rebooted
    await runTo(clock, 4_500);
    expect(calls).toEqual(['WhatIsMyAddr', 'relay keepalive', 'refreshPaths', 'publish 198.51.100.1:51234,192.168.1.2:4433']);
    expect(addresses.nat).toMatchObject({ reflexiveAddr: '198.51.100.1:51234', mappingChanges: 1 });
    addresses.stop();
  });

  it('checks at once when a peer falls silent mid-stream (a reboot under a stream), at most every 500 ms', async () => {
    let mapped = '198.51.100.1:40000';
    const { clock, calls, silent, addresses } = setup('192.168.1.2:4433', () => mapped, 2_000);
    await addresses.learnReflexive(SEED);
    await addresses.publishRecord();
    await runTo(clock, 2_100); // the first periodic check at 2 s
    calls.length = 0;
    mapped = '198.51.100.1:51234'; // the router rebooted at 2.1 s; a stream to us stops
    await runTo(clock, 2_400);
    expect(calls).toEqual([]);
    silent.listener!(); // the transport's first early keep-alive of that silence
    await flush();
    expect(clock.now()).toBe(2_400); // now, not at the next period (4 s)
    expect(calls).toEqual(['WhatIsMyAddr', 'relay keepalive', 'refreshPaths', 'publish 198.51.100.1:51234,192.168.1.2:4433']);
    calls.length = 0;
    await runTo(clock, 2_700);
    silent.listener!(); // another silent peer 300 ms later: no second check so soon
    await flush();
    expect(calls).toEqual([]);
    await runTo(clock, 4_399);
    expect(calls).toEqual([]); // the period restarts from the early check
    await runTo(clock, 4_400);
    expect(calls).toEqual(['WhatIsMyAddr']);
    addresses.stop();
    expect(silent.listener).toBeUndefined();
  });

  it('asks nothing of a public node, nor after stop', async () => {
    const { clock, calls, addresses } = setup('203.0.113.9:4433', () => '203.0.113.9:4433');
    await addresses.learnReflexive(SEED);
    await runTo(clock, 5_000);
    expect(calls).toEqual(['WhatIsMyAddr']);
    addresses.stop();
  });
});
