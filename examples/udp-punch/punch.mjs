#!/usr/bin/env node
// A tiny UDP hole-punching program: the baseline any NAT traversal stack must at least match.
// Plain Node.js, no dependencies. One UDP socket per peer; a public rendezvous server introduces peers to
// each other (each learns the other's address as the rendezvous sees it), both then send pings, and each
// side answers the source a ping actually came from (peer-reflexive learning, as ICE does). No relay.
//
//   punch.mjs rendezvous --port P [--control C]                     the introducer (run it on a public host)
//   punch.mjs peer --name N --port P --rendezvous A:P [--control C]  a peer; control endpoint on 127.0.0.1:C
//   (bootstrap, relay and plain — a lab node's role — are rendezvous, peer and peer)
//   punch.mjs probe --to NAME --addr A:P [--control C] [--timeout MS]
//       ask the local peer to connect to NAME (whose own address is A:P); prints one JSON line
//       {"path": "direct"|"hole-punched", "ms": N} and exits 0, or exits 1 with the reason on stderr
//
// Messages are JSON datagrams: reg/regok (a peer registers its name; the rendezvous answers with the address
// it sees), intro (ask for, or be given, a peer's address), ping/pong (a punch and its answer, tagged with the
// session), done (the initiator got through: stop punching).
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const [mode, ...rest] = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 && rest[i + 1] !== undefined ? rest[i + 1] : fallback;
};
const split = (hp) => {
  const i = hp.lastIndexOf(':');
  return { address: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
};
const key = (a) => `${a.address}:${a.port}`;
const PING_INTERVAL_MS = 50; // ICE's pacing (RFC 8445 Ta)
const REGISTER_EVERY_MS = 10_000; // well inside the lab's 30 s mapping lifetime

function rendezvous() {
  const peers = new Map(); // name -> address as seen here
  const sock = createSocket('udp4');
  const send = (msg, to) => sock.send(JSON.stringify(msg), to.port, to.address);
  sock.on('message', (buf, from) => {
    let m;
    try {
      m = JSON.parse(buf.toString());
    } catch {
      return;
    }
    if (m.t === 'reg') {
      peers.set(m.name, { address: from.address, port: from.port });
      send({ t: 'regok', addr: key(from) }, from);
    } else if (m.t === 'ping') {
      send({ t: 'pong', s: m.s }, from); // a peer may connect to the rendezvous itself: it is public
    } else if (m.t === 'intro') {
      const target = peers.get(m.to);
      if (!target) return send({ t: 'error', s: m.s, error: `unknown peer ${m.to}` }, from);
      send({ t: 'intro', s: m.s, peer: key(target) }, from);
      send({ t: 'intro', s: m.s, peer: key(from), name: m.from }, target);
    }
  });
  sock.bind(Number(opt('port', '4433')), '0.0.0.0', () =>
    console.log(`rendezvous on udp ${opt('port', '4433')}`),
  );
  createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    res.writeHead(path === '/ready' ? 200 : 501, { 'content-type': 'application/json' });
    res.end(JSON.stringify(path === '/ready' ? { ready: true } : { error: 'the rendezvous connects to no peer' }));
  }).listen(Number(opt('control', '7000')), '127.0.0.1');
}

function peer() {
  const name = opt('name');
  const rv = opt('rendezvous', '').split(',')[0];
  if (!name || !rv) {
    console.error('peer needs --name and --rendezvous ADDR:PORT (in a lab: a node with role bootstrap)');
    process.exit(2);
  }
  const server = split(rv);
  const sock = createSocket('udp4');
  const send = (msg, to) => sock.send(JSON.stringify(msg), to.port, to.address);
  const sessions = new Map(); // session -> { targets: Map<key, addr>, timer, onPong? }
  let registered = false;

  const punch = (s, addr) => {
    const session = sessions.get(s);
    if (!session || session.targets.has(key(addr))) return;
    session.targets.set(key(addr), addr);
    send({ t: 'ping', s, from: name }, addr);
  };
  const openSession = (s, lifetimeMs, onPong) => {
    const session = { targets: new Map(), onPong, timer: null, end: null, error: null };
    session.timer = setInterval(() => {
      for (const addr of session.targets.values()) send({ t: 'ping', s, from: name }, addr);
    }, PING_INTERVAL_MS);
    session.end = setTimeout(() => closeSession(s), lifetimeMs);
    sessions.set(s, session);
    return session;
  };
  const closeSession = (s) => {
    const session = sessions.get(s);
    if (!session) return;
    clearInterval(session.timer);
    clearTimeout(session.end);
    sessions.delete(s);
    session.onPong?.(null, session.error ?? 'timed out');
  };

  sock.on('message', (buf, from) => {
    let m;
    try {
      m = JSON.parse(buf.toString());
    } catch {
      return;
    }
    const src = { address: from.address, port: from.port };
    if (m.t === 'regok') {
      if (!registered) console.log(`registered with the rendezvous as ${m.addr}`);
      registered = true;
    } else if (m.t === 'intro') {
      // the responder side opens a session when introduced; the initiator has one already
      if (!sessions.has(m.s)) openSession(m.s, 10_000, null);
      punch(m.s, split(m.peer));
    } else if (m.t === 'ping') {
      send({ t: 'pong', s: m.s }, src); // answer the source actually seen: peer-reflexive
      if (sessions.has(m.s)) punch(m.s, src);
    } else if (m.t === 'pong') {
      const session = sessions.get(m.s);
      if (!session?.onPong) return;
      const done = session.onPong;
      session.onPong = null;
      send({ t: 'done', s: m.s }, src);
      done(src);
      closeSession(m.s);
    } else if (m.t === 'done') {
      closeSession(m.s);
    } else if (m.t === 'error') {
      // the rendezvous cannot introduce us (it does not know the peer): the ping to the peer's own address
      // may still be answered, so the session runs on and ends with this error if nothing answers
      const session = sessions.get(m.s);
      if (session) session.error = m.error;
    }
  });

  /** Connect to `to` (direct address `addr`): resolves { path, ms } or rejects. */
  const connect = (to, addr, timeoutMs) =>
    new Promise((resolve, reject) => {
      const s = randomBytes(8).toString('hex');
      const t0 = performance.now();
      const direct = split(addr);
      openSession(s, timeoutMs, (src, error) => {
        if (!src) return reject(new Error(error));
        resolve({
          path: key(src) === key(direct) ? 'direct' : 'hole-punched',
          ms: Math.round((performance.now() - t0) * 10) / 10,
        });
      });
      punch(s, direct); // its own address works when it is reachable (public, same LAN)
      send({ t: 'intro', s, to, from: name }, server);
    });

  const register = () => send({ t: 'reg', name }, server);
  sock.bind(Number(opt('port', '4433')), '0.0.0.0', () => {
    console.log(`ID ${name}`);
    register();
    setInterval(register, REGISTER_EVERY_MS);
  });

  createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/ready') return reply(registered ? 200 : 503, { registered });
    if (url.pathname !== '/connect') return reply(404, { error: 'no such endpoint' });
    connect(
      url.searchParams.get('to'),
      url.searchParams.get('addr'),
      Number(url.searchParams.get('timeout') ?? 5000),
    ).then(
      (r) => reply(200, r),
      (e) => reply(504, { error: e.message }),
    );
  }).listen(Number(opt('control', '7000')), '127.0.0.1');
}

async function probe() {
  const control = opt('control', '7000');
  const timeout = Number(opt('timeout', '5000'));
  // answer before the lab kills this probe at its timeout: leave room for this process's own start (≈1 s
  // for Node.js on a busy machine)
  const q = new URLSearchParams({
    to: opt('to'),
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

// in a lab the mode is the node's role: the bootstrap node is the rendezvous, every other node a peer
if (mode === 'rendezvous' || mode === 'bootstrap') rendezvous();
else if (mode === 'peer' || mode === 'plain' || mode === 'relay') peer();
else if (mode === 'probe') await probe();
else {
  console.error('usage: punch.mjs rendezvous|peer|probe [options] (see the top of this file)');
  process.exit(2);
}
