/**
 * The life of one `quicmesh node` process: load the identity, start the transport, node, metrics
 * endpoint and telemetry, ping the bootstrap peers, then wait for the stop signal and take
 * everything down in reverse order. Startup failures undo whatever was already started.
 *
 * Log lines (LineLogger, stderr): "node started", "NodeId node_id=…", "Listening address addr=…",
 * "metrics endpoint url=…", then "node ready node_id=… addr=… metrics=…" once everything is bound
 * (scripts and tests wait for that one), "telemetry snapshot …" periodically, "node stopped".
 */
import { toHex } from '../../src/core/bytes.js';
import type { GossipSub } from '../../src/pubsub/index.js';
import { SystemClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import type { LogFields, Logger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { startStatusServer, type StatusServer } from '../../src/metrics/http.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { controlRoutes } from '../../src/node/control.js';
import { createNode, type NodeAssembly } from '../../src/node/create-node.js';
import { startNatServices, type NatDetectConfig, type NatServerConfig } from '../../src/traversal/nat-service.js';
import type { NodeStatus } from '../../src/node/mesh-node.js';
import type { HostPort } from './host-port.js';
import { loadOrCreateKey } from './key-file.js';
import { createNodeTransport } from './transport-factory.js';

export interface NodeConfig {
  listen: HostPort;
  /** With a wildcard listen address: the interface whose address we advertise (--interface). */
  interface?: string;
  /** "host:port" of peers to join through. */
  bootstrap: string[];
  /** Serve relay sessions (--relay). */
  relay?: boolean;
  /** "host:port" of relays to keep a link to (--relay-peer). */
  relayPeers?: string[];
  /** Secret key file; an ephemeral identity when absent. */
  keyFile?: string;
  /** Where to serve /metrics, /status, /healthz and the control routes (POST /connect); none when absent. */
  metrics?: HostPort;
  telemetryIntervalMs: number;
  /** Answer NAT type tests (--nat-server). */
  natServer?: NatServerConfig;
  /** Detect our NAT type against these servers before joining (--nat-detect). */
  natDetect?: NatDetectConfig;
  /** Gossip topics to join (so a lab node takes part in pubsub). */
  subscribe?: string[];
}

/**
 * TEST ONLY: QUICMESH_TEST_PUNCH_DELAY_MS=N starts every hole punch N ms late — the known slowdown the lab's
 * regression tests inject to check that `quicmesh-lab test --baseline` catches it. Unset in normal use.
 */
export function testPunchDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.QUICMESH_TEST_PUNCH_DELAY_MS;
  if (raw === undefined || raw === '') return 0;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`QUICMESH_TEST_PUNCH_DELAY_MS: expected ms ≥ 0, got ${raw}`);
  return ms;
}

export async function runNode(config: NodeConfig, logger: Logger, stop: AbortSignal): Promise<void> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn('error while stopping', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  try {
    const keypair = await loadIdentity(config.keyFile, logger);
    const punchDelayMs = testPunchDelayMs();
    if (punchDelayMs > 0) logger.warn('TEST ONLY: every hole punch starts late (QUICMESH_TEST_PUNCH_DELAY_MS)', { ms: punchDelayMs });
    const metrics = new PromMetrics({ defaultMetrics: true });
    const components: Components = { clock: new SystemClock(), rng: new CryptoRng(), logger, metrics };
    const transport = createNodeTransport({ keypair, host: config.listen.host, port: config.listen.port, components });
    const node = createNode({
      keypair,
      transport,
      components,
      bootstrap: config.bootstrap,
      relay: config.relay ?? false,
      relays: config.relayPeers ?? [],
      // the control endpoint's POST /stream needs a peer that answers
      answerStreamChecks: true,
      ...(punchDelayMs > 0 ? { connect: { testPunchDelayMs: punchDelayMs } } : {}),
      ...(config.interface !== undefined ? { advertiseInterface: config.interface } : {}),
    });
    await node.start();
    cleanups.push(() => node.stop());
    const natAbort = new AbortController();
    const nat = await startNatServices({
      mesh: node.meshNode,
      transport,
      components,
      server: config.natServer,
      detect: config.natDetect,
      signal: natAbort.signal,
    });
    cleanups.push(() => {
      natAbort.abort();
      return nat.stop();
    });
    const mesh = node.meshNode;
    const nodeId = toHex(mesh.nodeId);
    logger.info('node started');
    logger.info('NodeId', { node_id: nodeId });
    logger.info('Listening address', { addr: mesh.contact.addr });

    let server: StatusServer | undefined;
    if (config.metrics) {
      server = await startStatusServer({
        ...config.metrics,
        metrics,
        status: () => mesh.status(),
        routes: controlRoutes(mesh),
      });
      cleanups.push(() => server!.close());
      logger.info('metrics endpoint', { url: server.url });
    }
    logger.info('node ready', { node_id: nodeId, addr: mesh.contact.addr, metrics: server?.url });

    const telemetry = setInterval(() => logTelemetry(logger, mesh.status()), config.telemetryIntervalMs);
    cleanups.push(() => clearInterval(telemetry));

    const pubsub = node.services.pubsub;
    if (pubsub) {
      for (const topic of config.subscribe ?? []) {
        pubsub.subscribe(topic);
        logger.info('subscribed', { topic });
      }
      if ((config.subscribe ?? []).length > 0) void logReceived(pubsub, logger);
    }

    const bootstrapAbort = new AbortController();
    cleanups.push(() => bootstrapAbort.abort());
    // NAT detection first: peers we talk to would open our NAT's filter and skew it.
    // A node without seeds joins too: it publishes its record (retried until a peer holds it).
    void nat.detection.then(() => joinNetwork(node, logger, bootstrapAbort.signal));

    await untilAborted(stop);
    logger.info('stopping', { reason: String(stop.reason ?? 'stop requested') });
  } finally {
    await cleanup();
  }
  logger.info('node stopped');
}

async function loadIdentity(keyFile: string | undefined, logger: Logger): Promise<Keypair> {
  if (keyFile === undefined) {
    logger.warn('no --key given: using an ephemeral identity (a new NodeId on every start)');
    return Keypair.generate();
  }
  const { keypair, created, exposed } = await loadOrCreateKey(keyFile);
  if (created) logger.info('created key file', { path: keyFile });
  if (exposed) logger.warn('key file is readable by group or others; chmod 600 it', { path: keyFile });
  return keypair;
}

async function logReceived(pubsub: GossipSub, logger: Logger): Promise<void> {
  for await (const m of pubsub.messages()) {
    logger.debug('gossip message', { topic: m.topic, source: toHex(m.source).slice(0, 16), bytes: m.data.length });
  }
}

async function joinNetwork(node: NodeAssembly, logger: Logger, signal: AbortSignal): Promise<void> {
  // Peers may come up after us (a lab starts nodes in parallel): retry until one answers.
  for (let attempt = 1; ; attempt++) {
    let results: Awaited<ReturnType<NodeAssembly['bootstrap']>>;
    let failed = false;
    try {
      results = await node.bootstrap({ signal });
    } catch (err) {
      // A seed that answered the ping may still fail the DHT join: log it and try again.
      logger.warn('bootstrap failed', { attempt, error: err instanceof Error ? err.message : String(err) });
      results = [];
      failed = true;
    }
    if (signal.aborted) return;
    const ok = results.filter((r) => r.ok).length;
    if (!failed) logger.info('bootstrap finished', { reachable: ok, configured: results.length, attempt });
    if (ok > 0 || (results.length === 0 && !failed)) return;
    const delayMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delayMs);
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (signal.aborted) return;
  }
}

/** One line of the node's state: the core numbers plus every status provider's scalar fields. */
export function logTelemetry(logger: Logger, status: NodeStatus): void {
  const served = Object.values(status.requestsServed).reduce((a, b) => a + b, 0);
  const sent = Object.values(status.requestsSent).reduce((a, b) => a + b, 0);
  const fields: LogFields = {
    uptime_s: Math.round(status.uptimeMs / 1000),
    peers_seen: status.peersSeen,
    requests_served: served,
    requests_sent: sent,
    identity_mismatches: status.identityMismatches,
  };
  for (const [section, value] of Object.entries(status.extra)) {
    if (value === null || typeof value !== 'object') continue;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
        fields[`${section}.${k}`] = v;
      }
    }
  }
  logger.info('telemetry snapshot', fields);
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
