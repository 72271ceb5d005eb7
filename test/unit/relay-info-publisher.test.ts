import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { StoreResult } from '../../src/dht/dht-types.js';
import type { RelayInfoPublishResult } from '../../src/dht/relay-directory.js';
import { ConfigError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import type { Counter, Metrics } from '../../src/metrics/metrics.js';
import { signRelayInfo, type RelayInfo } from '../../src/nat/relay/relay-info.js';
import { RelayInfoPublisher, type RelayInfoPublisherOptions } from '../../src/traversal/relay-info-publisher.js';
import { flush } from '../support/virtual-time.js';

const keypair = Keypair.generate(new Uint8Array(32).fill(3));

interface Call {
  at: number;
  info: RelayInfo;
  settle(accepted: number): void;
  fail(err: Error): void;
}

/** Records every publishRelayInfo; answers at once with `accepted` replicas unless `manual`. */
class FakeDht {
  readonly calls: Call[] = [];
  accepted = 3;
  manual = false;

  constructor(private readonly clock: ManualClock) {}

  publishRelayInfo(_kp: Keypair, info: RelayInfo): Promise<RelayInfoPublishResult> {
    return new Promise((resolve, reject) => {
      const settle = (accepted: number): void => resolve(publishResult(info, BigInt(this.calls.length), accepted));
      this.calls.push({ at: this.clock.now(), info: { ...info }, settle, fail: reject });
      if (!this.manual) settle(this.accepted);
    });
  }

  get times(): number[] {
    return this.calls.map((c) => c.at);
  }
}

function publishResult(info: RelayInfo, sequence: bigint, accepted: number): RelayInfoPublishResult {
  const store = { key: new Uint8Array(32), acks: [], accepted, local: undefined, spilled: false } as unknown as StoreResult;
  return { info: signRelayInfo(keypair, info, sequence, 0), own: store, directory: store, accepted: 2 * accepted };
}

function recordingMetrics(): Metrics & { values: Map<string, number> } {
  const values = new Map<string, number>();
  const counter = (name: string): Counter => ({
    inc: (labels, v = 1) => {
      const key = `${name}{${Object.values(labels ?? {}).join(',')}}`;
      values.set(key, (values.get(key) ?? 0) + v);
    },
  });
  return { values, counter, gauge: () => ({ set() {}, inc() {}, dec() {} }), histogram: () => ({ observe() {} }) };
}

const baseInfo = (): RelayInfo => ({
  relayPeer: keypair.publicKeyBytes(),
  relayAddrs: ['203.0.113.3:4433'],
  load: 0.2,
  accepting: true,
  rttMs: null,
  tier: null,
  capabilities: { stun: true, turn: true, iceLite: false, maxBandwidthKbps: 0, region: null },
});

function setup(over: Partial<RelayInfoPublisherOptions> = {}) {
  const clock = new ManualClock(0);
  const dht = new FakeDht(clock);
  const metrics = recordingMetrics();
  const current = baseInfo();
  const publisher = new RelayInfoPublisher({
    dht,
    keypair,
    info: () => ({ ...current }),
    components: { clock, rng: new SeededRng(5), logger: silentLogger, metrics },
    jitter: 0,
    ...over,
  });
  /** Let virtual time pass one 5 s check at a time, settling promise callbacks between checks. */
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 5_000) {
      clock.advance(5_000);
      await flush();
    }
  };
  return { clock, dht, metrics, current, publisher, run };
}

describe('RelayInfoPublisher', () => {
  it('publishes on start, then every interval while nothing changes', async () => {
    const { dht, publisher, run, clock } = setup();
    const first = await publisher.start();
    expect(first?.accepted).toBe(6);
    expect(dht.times).toEqual([0]);
    await run(55_000);
    expect(dht.times).toEqual([0]);
    await run(5_000);
    expect(dht.times).toEqual([0, 60_000]);
    await run(120_000);
    expect(dht.times).toEqual([0, 60_000, 120_000, 180_000]);
    expect(publisher.status()).toMatchObject({ running: true, published: 4, failed: 0, lastPublishedAt: 180_000 });
    expect(clock.now()).toBe(180_000);
  });

  it('republishes at the next check when load moves by more than 0.1, or accepting or the addresses change', async () => {
    const { dht, publisher, run, current } = setup();
    await publisher.start();
    current.load = 0.28; // +0.08: not enough
    await run(10_000);
    expect(dht.times).toEqual([0]);
    current.load = 0.31; // +0.11 from what was published
    await run(5_000);
    expect(dht.times).toEqual([0, 15_000]);
    expect(dht.calls[1]!.info.load).toBe(0.31);
    current.accepting = false;
    await run(5_000);
    current.relayAddrs = ['203.0.113.3:4433', '[2001:db8::3]:4433'];
    await run(5_000);
    expect(dht.times).toEqual([0, 15_000, 20_000, 25_000]);
    // the interval counts from the last publication
    await run(55_000);
    expect(dht.times).toEqual([0, 15_000, 20_000, 25_000]);
    await run(5_000);
    expect(dht.times.at(-1)).toBe(85_000);
  });

  it('never runs two publications at once', async () => {
    const { dht, publisher, run, current } = setup();
    dht.manual = true;
    const first = publisher.start();
    current.load = 0.9;
    await run(90_000);
    expect(dht.times).toEqual([0]);
    expect(publisher.publishNow()).toBe(publisher.publishNow());
    dht.calls[0]!.settle(1);
    expect((await first)?.accepted).toBe(2);
    await run(5_000);
    expect(dht.times).toEqual([0, 95_000]);
    expect(dht.calls[1]!.info.load).toBe(0.9);
  });

  it('retries a publication no node stored after 5 s, doubling up to the interval, whatever the load does', async () => {
    const { dht, publisher, run, current, metrics } = setup();
    dht.accepted = 0;
    expect((await publisher.start())?.accepted).toBe(0);
    for (let i = 0; i < 30; i++) {
      current.load = i % 2 === 0 ? 0.9 : 0.1;
      await run(5_000);
    }
    expect(dht.times).toEqual([0, 5_000, 15_000, 35_000, 75_000, 135_000]);
    dht.accepted = 2;
    await run(60_000);
    expect(dht.times.slice(6)).toEqual([195_000]);
    expect(publisher.status()).toMatchObject({ published: 1, failed: 6 });
    expect(metrics.values.get('quicmesh_relay_info_publishes_total{ok}')).toBe(1);
    expect(metrics.values.get('quicmesh_relay_info_publishes_total{failed}')).toBe(6);
  });

  it('counts a thrown publication or info() as failed and keeps going', async () => {
    let broken = true;
    const info = (): RelayInfo => {
      if (broken) throw new Error('no public address yet');
      return baseInfo();
    };
    const { dht, publisher, run } = setup({ info });
    expect(await publisher.start()).toBeUndefined();
    expect(dht.calls).toHaveLength(0);
    broken = false;
    dht.manual = true;
    await run(5_000);
    expect(dht.times).toEqual([5_000]);
    dht.calls[0]!.fail(new Error('lookup exploded'));
    await flush();
    expect(publisher.status()).toMatchObject({ published: 0, failed: 2 });
    dht.manual = false;
    await run(10_000); // backoff after the second failure: 10 s
    expect(dht.times).toEqual([5_000, 15_000]);
    expect(publisher.status()).toMatchObject({ published: 1, failed: 2 });
    publisher.stop();
  });

  it('spreads republishes up to jitter x interval early, on the check grid', async () => {
    const { dht, publisher, run } = setup({ jitter: 0.1 });
    await publisher.start();
    await run(600_000);
    const gaps = dht.times.slice(1).map((t, i) => t - dht.times[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(10);
    for (const g of gaps) expect([55_000, 60_000]).toContain(g);
    expect(new Set(gaps).size).toBe(2);
  });

  it('stop() cancels its timer; start() again publishes at once', async () => {
    const { dht, publisher, run, clock } = setup();
    await publisher.start();
    expect(clock.pending).toBe(1);
    publisher.stop();
    expect(clock.pending).toBe(0);
    expect(publisher.status().running).toBe(false);
    await run(120_000);
    expect(dht.times).toEqual([0]);
    await publisher.start();
    expect(dht.times).toEqual([0, 120_000]);
    publisher.stop();
  });

  it('refuses nonsense settings', () => {
    expect(() => setup({ checkMs: 0 })).toThrow(ConfigError);
    expect(() => setup({ intervalMs: 1_000, checkMs: 5_000 })).toThrow(ConfigError);
    expect(() => setup({ jitter: 2 })).toThrow(ConfigError);
    expect(() => setup({ loadDelta: -1 })).toThrow(ConfigError);
  });
});
