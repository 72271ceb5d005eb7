/**
 * NAT detection and the NAT test server as services of a running node (the `quicmesh node`
 * flags --nat-server, --nat-alt-port, --nat-partner and --nat-detect).
 *
 * - Server: binds the second UDP port (default: the node's port + 1) for address probes and a
 *   third, ephemeral one that filtering replies leave from, and serves NatTest
 *   (nat-test-server.ts); status().extra.natServer counts what it answered. It pings its partner
 *   until it answers, each try a fresh dial (short deadlines), and forwards address tests from then on.
 * - Detection: waits until the first server answers a Ping (lab nodes start together), runs
 *   detectNatType through a MeshNatDriver, logs the report, exports quicmesh_nat_type{type} and
 *   adds { natType, mapping, filtering, publicAddrs, hairpin, detection } to status().extra.nat
 *   (keeping whatever the node's own `nat` section reports).
 *
 * Run detection before the node talks to anyone else: every peer we send to opens our NAT's
 * filter for that peer, and a partner we had already contacted would make any NAT look like a
 * full cone.
 */
import { networkInterfaces } from 'node:os';
import { sleep } from '../core/clock.js';
import type { Components } from '../core/components.js';
import { ConfigError } from '../errors.js';
import type { TraversalNode } from './host.js';
import { capability } from '../transport/capabilities.js';
import type { Transport } from '../transport/transport.js';
import { joinAddr, splitAddr } from '../nat/addr.js';
import { detectNatType, NAT_TYPES, type NatReport, type NatServer, type NatType } from '../nat/nat-detection.js';
import { MeshNatDriver, type RawChannel } from './nat-driver.js';
import { NatTestServer, type AltSocket } from './nat-test-server.js';
import { openAltSocket } from './udp-alt-socket.js';

/** NAT test server settings (`--nat-server`): the second port and the partner server on another IP. */
export interface NatServerConfig {
  /** The second UDP port; default the node's port + 1. */
  altPort?: number;
  /** "host:port" of the partner NAT test server (another IP), for address tests. */
  partner?: string;
}

/** NAT detection settings (`--nat-detect`): the test servers, the per-probe timeout, how long to wait for the first. */
export interface NatDetectConfig {
  servers: NatServer[];
  /** Per-probe timeout, ms (default STUN_TIMEOUT_MS). */
  timeoutMs?: number;
  /** How long to wait for the first server to answer before detecting anyway, ms (default 60 000). */
  readyTimeoutMs?: number;
}

/** status().extra.nat fields added by detection. */
export interface NatDetectStatus {
  natType: NatType;
  mapping: NatReport['mapping'];
  filtering: NatReport['filtering'];
  publicAddrs: string[];
  hairpin: boolean | null;
  detection: 'pending' | 'done' | 'failed';
}

/** Our bound addresses as "host:port"; a wildcard bind expands to every interface address. */
export function localAddrsOf(localAddr: string): string[] {
  const { host, port } = splitAddr(localAddr);
  if (host !== '0.0.0.0' && host !== '::') return [localAddr];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (host === '0.0.0.0' && a.family !== 'IPv4') continue;
      out.push(joinAddr(a.address, port));
    }
  }
  return out;
}

/** What startNatServices runs on (node, transport, components) and what it starts: a test server, detection, or both. */
export interface NatServicesOptions {
  mesh: TraversalNode;
  transport: Transport;
  components: Components;
  server?: NatServerConfig;
  detect?: NatDetectConfig;
  /** Aborts detection (node stopping). */
  signal?: AbortSignal;
}

/** What startNatServices started: the detection report, the test server, and stop(). */
export interface NatServices {
  /** The detection's report; null without --nat-detect or when it failed. Never rejects. */
  detection: Promise<NatReport | null>;
  server?: NatTestServer;
  stop(): Promise<void>;
}

/** Start the NAT test server and/or detection on a started node. */
export async function startNatServices(opts: NatServicesOptions): Promise<NatServices> {
  const { mesh, components } = opts;
  const log = components.logger.child('nat');
  const raw = capability(opts.transport, 'rawDatagrams');
  const stops: Array<() => Promise<void> | void> = [];
  const services: NatServices = {
    detection: Promise.resolve(null),
    async stop() {
      for (const s of stops.reverse()) await s();
    },
  };

  if (opts.server) {
    if (raw === undefined) throw new ConfigError('--nat-server needs a transport with raw datagrams (QUIC)');
    const { host, port } = splitAddr(opts.transport.localAddr);
    const altPort = opts.server.altPort ?? port + 1;
    const alt: AltSocket = await openAltSocket(host, altPort, log);
    stops.push(() => alt.close());
    const reply: AltSocket = await openAltSocket(host, 0, log);
    stops.push(() => reply.close());
    const partner = opts.server.partner;
    let partnerReady: Promise<void> | undefined;
    if (partner !== undefined) {
      const stopWaiting = new AbortController();
      stops.push(() => stopWaiting.abort());
      partnerReady = untilAnswers(mesh, components, partner, { waitMs: PARTNER_WAIT_MS, signal: stopWaiting.signal, ...PARTNER_PACE }).then(
        (answered) => log.info(answered ? 'NAT test partner answers' : 'NAT test partner did not answer: forwarding anyway', { partner }),
        () => {}, // stopped
      );
    }
    const server = new NatTestServer({
      node: mesh,
      sendRaw: (b, h, p) => raw.sendRawDatagram(b, h, p),
      altSocket: alt,
      replySocket: reply,
      partner,
      partnerReady,
      components,
    });
    server.start();
    services.server = server;
    mesh.addStatusProvider('natServer', () => server.status());
    log.info('NAT test server', { alt: alt.localAddr, reply: reply.localAddr, partner: opts.server.partner ?? 'none' });
  }

  const detect = opts.detect;
  if (detect) {
    if (raw === undefined) throw new ConfigError('--nat-detect needs a transport with raw datagrams (QUIC)');
    // Registered only where detection runs: elsewhere the NAT panels have nothing to show.
    const gauge = components.metrics.gauge('quicmesh_nat_type', 'NAT type this node detected (1 for it, 0 for the others)', ['type']);
    const setType = (t: NatType): void => {
      for (const x of NAT_TYPES) gauge.set(x === t ? 1 : 0, { type: x });
    };
    setType('Unknown');
    const state: NatDetectStatus = { natType: 'Unknown', mapping: 'unknown', filtering: 'unknown', publicAddrs: [], hairpin: null, detection: 'pending' };
    const previous = mesh.statusProvider('nat');
    mesh.addStatusProvider('nat', () => {
      const base = previous?.();
      return { ...(base !== null && typeof base === 'object' ? base : {}), ...state };
    });
    const channel: RawChannel = {
      send: (b, h, p) => raw.sendRawDatagram(b, h, p),
      listen: (cb) => raw.onRawDatagram((data, from) => cb(data, joinAddr(from.host, from.port))),
    };
    const driver = new MeshNatDriver({ node: mesh, raw: channel, components, requestTimeoutMs: detect.timeoutMs });
    stops.push(() => driver.close());
    services.detection = (async () => {
      try {
        await untilAnswers(mesh, components, detect.servers[0]!.addr, { waitMs: detect.readyTimeoutMs ?? 60_000, signal: opts.signal });
        const report = await detectNatType(driver, detect.servers, {
          clock: components.clock,
          localAddrs: localAddrsOf(opts.transport.localAddr),
          timeoutMs: detect.timeoutMs,
          signal: opts.signal,
        });
        Object.assign(state, {
          natType: report.natType,
          mapping: report.mapping,
          filtering: report.filtering,
          publicAddrs: report.publicAddrs,
          hairpin: report.hairpin,
          detection: 'done',
        });
        setType(report.natType);
        log.info('NAT type detected', {
          type: report.natType,
          mapping: report.mapping,
          filtering: report.filtering,
          public: report.publicAddrs.join(' '),
          hairpin: String(report.hairpin),
        });
        return report;
      } catch (err) {
        state.detection = 'failed';
        if (!opts.signal?.aborted) log.warn('NAT detection failed', { error: (err as Error).message });
        return null;
      } finally {
        driver.close();
      }
    })();
  }
  return services;
}

/** How long a NAT test server waits for its partner before forwarding anyway (the lab starts every node within this). */
const PARTNER_WAIT_MS = 60_000;
/**
 * Pinging the partner: a dial to a port nobody listens on yet resends its first packet after 1 s,
 * then 2 s, 4 s...; giving each try a short deadline abandons that dial, so the next try is a
 * fresh one and the partner is found within about a second of it listening. The deadline grows
 * so that a handshake on a loaded machine still fits.
 */
const PARTNER_PACE = { tryMs: (attempt: number) => Math.min(1_000 + 250 * attempt, 3_000), maxPauseMs: 250 };

interface UntilAnswersOptions {
  /** Give up after this long (then carry on). */
  waitMs: number;
  signal?: AbortSignal;
  /** Deadline of try `attempt` (from 0), ms; default 2 000. */
  tryMs?: (attempt: number) => number;
  /** Longest pause between tries (they start at 100 ms and double), ms; default 2 000. */
  maxPauseMs?: number;
}

/** Ping `addr` until it answers (true) or `waitMs` pass (false: carry on, e.g. detection reports Unknown). */
async function untilAnswers(mesh: TraversalNode, components: Components, addr: string, opts: UntilAnswersOptions): Promise<boolean> {
  const { signal } = opts;
  const clock = components.clock;
  const deadline = clock.now() + opts.waitMs;
  for (let attempt = 0; clock.now() < deadline; attempt++) {
    signal?.throwIfAborted();
    try {
      await mesh.request({ addr }, { type: 'Ping', from: mesh.contact }, { timeoutMs: opts.tryMs?.(attempt) ?? 2_000, signal });
      return true;
    } catch {
      // not up yet: back off on the clock
    }
    await sleep(clock, Math.min(opts.maxPauseMs ?? 2_000, 100 * 2 ** Math.min(attempt, 5)), signal);
  }
  return false;
}
