import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { IdentityError, TimeoutError, TransportError } from '../../src/errors.js';
import { SimScheduler } from '../../src/sim/scheduler.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import type { Request } from '../../src/wire/messages.js';

function setup(lossRate = 0) {
  const s = new SimScheduler();
  const net = new SimNetwork({ clock: s.clock, rng: new SeededRng(1), latencyMs: () => 10, lossRate, defaultTimeoutMs: 1000 });
  const rng = new SeededRng(2);
  const a = net.createEndpoint(rng.bytes(32), '10.0.0.1:1');
  const b = net.createEndpoint(rng.bytes(32), '10.0.0.2:1');
  const ping = (from = a): Request => ({ type: 'Ping', from: from.contact });
  return { s, net, a, b, ping };
}

describe('SimNetwork', () => {
  it('delivers a request and its reply after the one-way latency each, with the verified sender', async () => {
    const { s, a, b, ping } = setup();
    const seen: string[] = [];
    b.handle('Ping', (peer) => {
      seen.push(`${peer.addr}@${s.now()}`);
      return { type: 'Ack', rejection: null };
    });
    const reply = await s.run(a.request({ addr: b.addr, nodeId: b.id }, ping()), 5000);
    expect(reply.msg).toEqual({ type: 'Ack', rejection: null });
    expect(reply.from.nodeId).toBe(b.id);
    expect(seen).toEqual(['10.0.0.1:1@10']);
    expect(s.now()).toBe(20);
  });

  it('answers asynchronous handlers, unknown request types and throwing handlers', async () => {
    const { s, a, b, ping } = setup();
    b.handle('Ping', () => new Promise((r) => s.clock.setTimer(5, () => r({ type: 'Ack', rejection: null }))));
    b.handle('FindNode', () => {
      throw new Error('broken');
    });
    const r1 = await s.run(a.request({ addr: b.addr }, ping()), 5000);
    expect(r1.msg.type).toBe('Ack');
    expect(s.now()).toBe(25);
    const r2 = await s.run(a.request({ addr: b.addr }, { type: 'FindValue', from: a.contact, key: new Uint8Array(32) }), 5000);
    expect(r2.msg).toMatchObject({ type: 'Error', code: 'Unsupported' });
    const r3 = await s.run(a.request({ addr: b.addr }, { type: 'FindNode', from: a.contact, target: new Uint8Array(32) }), 5000);
    expect(r3.msg).toMatchObject({ type: 'Error', code: 'Internal', message: 'broken' });
  });

  it('times out at the deadline when the peer is down or absent, and refuses a wrong node id', async () => {
    const { s, a, b, ping } = setup();
    b.handle('Ping', () => ({ type: 'Ack', rejection: null }));
    b.down();
    const t0 = s.now();
    await expect(s.run(a.request({ addr: b.addr }, ping(), { timeoutMs: 300 }), 5000)).rejects.toBeInstanceOf(TimeoutError);
    expect(s.now() - t0).toBe(300);
    await expect(s.run(a.request({ addr: '10.9.9.9:1' }, ping()), 5000)).rejects.toBeInstanceOf(TimeoutError);
    b.up = true;
    await expect(s.run(a.request({ addr: b.addr, nodeId: a.id }, ping()), 5000)).rejects.toBeInstanceOf(IdentityError);
    a.down();
    await expect(a.request({ addr: b.addr }, ping())).rejects.toBeInstanceOf(TransportError);
  });

  it('loses about the configured share of messages', async () => {
    const { s, net, a, b, ping } = setup(0.2);
    b.handle('Ping', () => ({ type: 'Ack', rejection: null }));
    const results = await s.run(
      Promise.allSettled(Array.from({ length: 1000 }, () => a.request({ addr: b.addr }, ping(), { timeoutMs: 100 }))),
      10_000,
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    // Each exchange survives two independent 20% losses: about 64%.
    expect(ok).toBeGreaterThan(580);
    expect(ok).toBeLessThan(700);
    expect(net.stats.requests).toBe(1000);
  });
});
