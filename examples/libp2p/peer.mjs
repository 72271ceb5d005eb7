// A js-libp2p node for quicmesh-lab: QUIC transport (noise + yamux for relayed connections), circuit relay v2 (a relay node serves it, every other
// node keeps a reservation on the relay), DCUtR (relayed connections upgraded to direct ones by hole
// punching), identify and AutoNAT, ping. libp2p's defaults otherwise. Needs Node.js 22 (see README.md).
//
//   peer.mjs --role bootstrap|relay|plain --listen ADDR --port P --relay A:P[,…] [--bootstrap A:P[,…]] [--control C]
//   peer.mjs probe --peer ID --addr A:P [--control C] [--timeout MS]
//
// The node prints `ID <peer id>` once it listens (the lab reads it for {{to.id}}), and serves a control
// endpoint on 127.0.0.1:C inside its namespace: GET /ready (200 once listening and, unless it is the relay,
// holding a relay reservation), GET /connect?peer=ID&addr=A:P&timeout=MS (a fresh connection to that peer:
// its public address when it has one, else its relay address, then waits for DCUtR to go direct). The probe
// asks it and prints {"path": "direct|hole-punched|relayed", "ms": N}.
import { createServer } from 'node:http';
import { createLibp2p } from 'libp2p';
import { quic } from '@chainsafe/libp2p-quic';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { identify, identifyPush } from '@libp2p/identify';
import { autoNAT } from '@libp2p/autonat';
import { dcutr } from '@libp2p/dcutr';
import { ping } from '@libp2p/ping';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const split = (hp) => {
  const i = hp.lastIndexOf(':');
  return { address: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
};
const control = Number(opt('control', '7001'));

/** An address behind some NAT in the lab's terms: RFC 1918 or shared address space (RFC 6598). */
const behindNat = (ip) =>
  /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/.test(ip);

async function probe() {
  const timeout = Number(opt('timeout', '5000'));
  // answer before the lab kills this probe at its timeout: leave room for this process's own start (≈1 s
  // for Node.js on a busy machine)
  const q = new URLSearchParams({
    peer: opt('peer'),
    addr: opt('addr'),
    timeout: String(Math.max(100, Math.round(timeout * 0.6))),
  });
  try {
    const res = await fetch(`http://127.0.0.1:${control}/connect?${q}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    console.log(JSON.stringify(body));
  } catch (e) {
    console.error(`not connected: ${e.message}`);
    process.exit(1);
  }
}

async function main() {
  const role = opt('role', 'plain');
  const port = Number(opt('port', '4433'));
  const host = opt('listen', '0.0.0.0');
  const isRelay = role === 'relay';
  const boots = opt('bootstrap', '')
    .split(',')
    .filter(Boolean)
    .map((hp) => split(hp));
  const relays = opt('relay', '')
    .split(',')
    .filter(Boolean)
    .map((hp) => split(hp));
  const node = await createLibp2p({
    addresses: {
      // every non-relay node listens on its relay too (a reservation): how others reach it behind a NAT
      listen: [`/ip4/${host}/udp/${port}/quic-v1`, ...(isRelay ? [] : ['/p2p-circuit'])],
    },
    transports: [quic(), circuitRelayTransport()],
    // a relayed connection is a stream over the relay: it needs its own encryption and multiplexer (QUIC brings both)
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // the relay as js-libp2p's circuit relay example runs one (identify and the relay server); every other
    // node as its hole-punching guide says (identify, AutoNAT, DCUtR) — an AutoNAT server on the relay would
    // close the connection that holds a reservation to dial the peer back on a new one
    services: isRelay
      ? { identify: identify(), ping: ping(), relay: circuitRelayServer() }
      : {
          identify: identify(),
          identifyPush: identifyPush(),
          autoNAT: autoNAT(),
          dcutr: dcutr(),
          ping: ping(),
        },
  });
  console.log(`ID ${node.peerId}`);
  console.log(`role ${role}, listening on ${node.getMultiaddrs().map(String).join(' ')}`);

  // keep a connection to the relay (the reservation lives on it); retried while it fails
  let relayConn = null;
  const joinRelay = async () => {
    for (const r of relays) {
      try {
        relayConn = await node.dial(multiaddr(`/ip4/${r.address}/udp/${r.port}/quic-v1`));
        console.log(`connected to relay ${relayConn.remotePeer} at ${r.address}:${r.port}`);
        return;
      } catch (e) {
        console.log(`relay ${r.address}:${r.port}: ${e.message}`);
      }
    }
    setTimeout(joinRelay, 1000);
  };
  if (!isRelay && relays.length) await joinRelay();
  // and to the bootstrap peers, as libp2p's bootstrap list would (AutoNAT asks the peers it is connected to)
  for (const b of boots) {
    node.dial(multiaddr(`/ip4/${b.address}/udp/${b.port}/quic-v1`)).then(
      (c) => console.log(`connected to bootstrap peer ${c.remotePeer} at ${b.address}:${b.port}`),
      (e) => console.log(`bootstrap peer ${b.address}:${b.port}: ${e.message}`),
    );
  }
  node.addEventListener('self:peer:update', () => {
    const circuit = node.getMultiaddrs().filter((a) => a.toString().includes('/p2p-circuit'));
    if (circuit.length) console.log(`reachable via ${circuit.map(String).join(' ')}`);
  });
  const reserved = () =>
    isRelay || relays.length === 0 || node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit'));

  /** A fresh connection to `peer`: resolves { path, ms } or rejects. */
  const connect = async (peerText, addr, timeoutMs) => {
    const peer = peerIdFromString(peerText);
    await node.hangUp(peer).catch(() => {});
    const { address, port: p } = split(addr);
    const deadline = AbortSignal.timeout(timeoutMs);
    // what a peer advertises: its own address when it has a public one, else its relay address
    let target;
    if (!behindNat(address)) target = multiaddr(`/ip4/${address}/udp/${p}/quic-v1/p2p/${peer}`);
    else {
      if (!relayConn) throw new Error('no relay connection to reach a peer behind a NAT');
      target = relayConn.remoteAddr.encapsulate(`/p2p/${relayConn.remotePeer}/p2p-circuit/p2p/${peer}`);
    }
    const t0 = performance.now();
    const ms = () => Math.round((performance.now() - t0) * 10) / 10;
    const direct = () => node.getConnections(peer).find((c) => !c.limits && c.status === 'open');
    // DCUtR may go direct while the relayed dial is still returning: listen from the start
    let upgraded = null;
    const seen = new Promise((resolve) => {
      const onOpen = (evt) => {
        const c = evt.detail;
        if (c.remotePeer.equals(peer) && !c.limits) {
          upgraded ??= ms();
          node.removeEventListener('connection:open', onOpen);
          resolve();
        }
      };
      node.addEventListener('connection:open', onOpen);
      deadline.addEventListener('abort', () => {
        node.removeEventListener('connection:open', onOpen);
        resolve();
      });
    });
    const conn = await node.dial(target, { signal: deadline });
    const connected = ms();
    if (!conn.limits) return { path: 'direct', ms: connected };
    if (!direct()) await seen;
    if (upgraded !== null || direct()) return { path: 'hole-punched', ms: upgraded ?? ms() };
    return { path: 'relayed', ms: connected };
  };

  createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/ready') return reply(reserved() ? 200 : 503, { reserved: reserved() });
    if (url.pathname !== '/connect') return reply(404, { error: 'no such endpoint' });
    const peer = url.searchParams.get('peer');
    connect(peer, url.searchParams.get('addr'), Number(url.searchParams.get('timeout') ?? 5000)).then(
      (r) => {
        reply(200, r);
        // close it again, so no traffic keeps the NATs' pinholes open for the next (cold) probe
        node.hangUp(peerIdFromString(peer)).catch(() => {});
      },
      (e) => {
        console.log(`connect to ${peer} failed: ${e.stack}`);
        reply(504, { error: e.message });
      },
    );
  }).listen(control, '127.0.0.1');

  const stop = async () => {
    await node.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (args[0] === 'probe') await probe();
else await main();
