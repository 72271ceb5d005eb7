/**
 * NAT detection over real QUIC and UDP sockets on loopback (no root, no NAT): a NAT test server
 * on 127.0.0.1 and its partner on 127.0.0.2 (startNatServices({server}) — second port, reply
 * port, partner forwarding), a client on 127.0.0.3 running startNatServices({detect}). Without a
 * NAT every test reply arrives: None, endpoint-independent mapping and filtering — also when the
 * partner comes up only after the client's first address test (the lab's start-up race).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/poll.js';
import { SystemClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { startNatServices, type NatServices } from '../../src/traversal/nat-service.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

const components = (): Components => ({ clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics: noopMetrics });

async function node(host: string, port = 0): Promise<MeshNode> {
  const keypair = Keypair.generate();
  const c = components();
  const mesh = new MeshNode({ keypair, transport: new QuicTransport({ keypair, host, port, components: c }), components: c });
  await mesh.start();
  return mesh;
}

describe('NAT detection over QUIC on loopback', () => {
  const nodes: MeshNode[] = [];
  const services: NatServices[] = [];
  afterAll(async () => {
    for (const s of services) await s.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('a client with no NAT between it and the servers detects None with open filtering', async () => {
    const [server, partner, client] = await Promise.all([node('127.0.0.1'), node('127.0.0.2'), node('127.0.0.3')]);
    nodes.push(server!, partner!, client!);
    const s = server!.contact.addr;
    const p = partner!.contact.addr;
    services.push(await startNatServices({ mesh: server!, transport: server!.transport, components: server!.components, server: { partner: p } }));
    services.push(await startNatServices({ mesh: partner!, transport: partner!.transport, components: partner!.components, server: { partner: s } }));
    const altPort = Number(s.split(':')[1]) + 1;
    const detect = await startNatServices({
      mesh: client!,
      transport: client!.transport,
      components: client!.components,
      detect: { servers: [{ addr: s, altPortAddr: `127.0.0.1:${altPort}` }, { addr: p }], timeoutMs: 2_000 },
    });
    services.push(detect);
    const report = await detect.detection;
    expect(report).toMatchObject({
      natType: 'None',
      mapping: 'endpoint-independent',
      filtering: 'endpoint-independent',
      publicAddrs: [client!.contact.addr],
    });
    expect(report!.probes).toEqual(
      expect.arrayContaining([
        { id: 'map-other-port', reflexive: client!.contact.addr },
        { id: 'filter-other-port', received: true },
        { id: 'filter-other-address', received: true },
      ]),
    );
    expect(server!.status().extra.natServer).toMatchObject({ portTests: 1, addressTests: 1, addrProbes: 1 });
    expect(partner!.status().extra.natServer).toMatchObject({ forwardedServed: 1 });
  }, 30_000);

  // Seen in the lab on a loaded machine: the partner was not listening yet when the first client
  // asked for the address test; the server's forward timed out, the test was refused, and the
  // client reported filtering unknown. Now the server refuses at once until its pings find the
  // partner, and the client asks again within the probe's time.
  it('a partner that starts only after the server refused an address test: asked again, still measured', async () => {
    const [server, client, placeholder] = await Promise.all([node('127.0.0.1'), node('127.0.0.3'), node('127.0.0.2')]);
    nodes.push(server!, client!);
    // the partner's address, free again until the partner starts there
    const p = placeholder!.contact.addr;
    await placeholder!.stop();
    const s = server!.contact.addr;
    services.push(await startNatServices({ mesh: server!, transport: server!.transport, components: server!.components, server: { partner: p } }));
    const detect = await startNatServices({
      mesh: client!,
      transport: client!.transport,
      components: client!.components,
      // room for the server's next ping (a fresh dial within about a second) and a try after it
      detect: { servers: [{ addr: s, altPortAddr: `127.0.0.1:${Number(s.split(':')[1]) + 1}` }, { addr: p }], timeoutMs: 6_000 },
    });
    services.push(detect);
    const natServer = () => server!.status().extra.natServer as { refused: number; addressTests: number; partnerUp: boolean };
    await pollUntil('the server to refuse an address test (its partner is not up)', () => natServer().refused > 0);
    const partner = await node('127.0.0.2', Number(p.split(':')[1]));
    nodes.push(partner);
    services.push(await startNatServices({ mesh: partner, transport: partner.transport, components: partner.components, server: { partner: s } }));
    const report = await detect.detection;
    expect(report!.probes).toEqual(
      expect.arrayContaining([
        { id: 'filter-other-port', received: true },
        { id: 'filter-other-address', received: true },
      ]),
    );
    expect(report).toMatchObject({ natType: 'None', filtering: 'endpoint-independent' });
    expect(natServer()).toMatchObject({ addressTests: 1, partnerUp: true });
    expect(partner.status().extra.natServer).toMatchObject({ forwardedServed: 1 });
  }, 30_000);
});
