/**
 * The life of one `quicmesh chat` process: a full node (QUIC, DHT, pubsub) that joins through the
 * --peer addresses (retrying until one answers), subscribes to `chat/<room>`, publishes each input
 * line as {name, text, ts}, and prints the room's messages from others as `[room] name: text`.
 *
 * Output (stdout, via io.print): `chat ready addr=… node_id=… room=… name=…` once listening (tests
 * wait for it); `* N peer(s) in the mesh of room R` whenever that number changes; `* joined …`;
 * `* not sent: …` for a refused line; `* left room R` at the end. Logs go to the logger (stderr).
 * Leaves on end of input or on the stop signal: unsubscribes, then stops the node.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { bytesEqual, toHex } from '../../src/core/bytes.js';
import { SystemClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import type { Logger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { createNode, type NodeAssembly } from '../../src/node/create-node.js';
import type { GossipSub } from '../../src/pubsub/gossipsub.js';
import {
  MAX_TEXT_CHARS,
  chatTopic,
  decodeChatMessage,
  encodeChatMessage,
  formatChatLine,
} from './chat-message.js';
import type { HostPort } from './host-port.js';
import { loadOrCreateKey } from './key-file.js';
import { createNodeTransport } from './transport-factory.js';

export interface ChatConfig {
  name: string;
  room: string;
  listen: HostPort;
  /** "host:port" of peers to join through. */
  peers: string[];
  /** Secret key file; an ephemeral identity when absent. */
  keyFile?: string;
}

export interface ChatIO {
  input: Readable;
  print(line: string): void;
}

export async function runChat(config: ChatConfig, io: ChatIO, logger: Logger, stop: AbortSignal): Promise<void> {
  const keypair = config.keyFile ? (await loadOrCreateKey(config.keyFile)).keypair : Keypair.generate();
  const components: Components = { clock: new SystemClock(), rng: new CryptoRng(), logger, metrics: noopMetrics };
  const transport = createNodeTransport({ keypair, host: config.listen.host, port: config.listen.port, components });
  const node = createNode({ keypair, transport, components, bootstrap: config.peers });
  const pubsub = node.services.pubsub!;
  const topic = chatTopic(config.room);
  const leaving = new AbortController();
  const onStop = (): void => leaving.abort(stop.reason);
  stop.addEventListener('abort', onStop, { once: true });
  try {
    await node.start();
    pubsub.subscribe(topic);
    const mesh = node.meshNode;
    io.print(`chat ready addr=${mesh.contact.addr} node_id=${toHex(mesh.nodeId)} room=${config.room} name=${config.name}`);
    const printing = printMessages(pubsub, keypair, config.room, topic, io, logger);
    const watch = watchMesh(pubsub, topic, config.room, components, io);
    if (config.peers.length > 0) void join(node, components, logger, io, leaving.signal);

    await readLines(io.input, leaving.signal, (line) => {
      const text = line.replace(/\r$/, '');
      if (text.trim() === '') return;
      if (text.length > MAX_TEXT_CHARS) {
        io.print(`* not sent: the line is ${text.length} characters, more than ${MAX_TEXT_CHARS}`);
        return;
      }
      const data = encodeChatMessage({ name: config.name, text, ts: Date.now() });
      pubsub.publish(topic, data).catch((err: unknown) => io.print(`* not sent: ${errorText(err)}`));
    });

    leaving.abort('leaving');
    watch.cancel();
    pubsub.unsubscribe(topic);
    io.print(`* left room ${config.room}`);
    await node.stop();
    await printing;
  } finally {
    stop.removeEventListener('abort', onStop);
    leaving.abort('leaving');
    await node.stop();
  }
}

/** Print every chat message of the room from someone else until the pubsub stops. */
async function printMessages(
  pubsub: GossipSub,
  keypair: Keypair,
  room: string,
  topic: string,
  io: ChatIO,
  logger: Logger,
): Promise<void> {
  for await (const m of pubsub.messages()) {
    if (m.topic !== topic) continue;
    // The router never delivers our own messages; this also hides another process on our key.
    if (bytesEqual(m.source, keypair.identity)) continue;
    const msg = decodeChatMessage(m.data);
    if (!msg) {
      logger.debug('malformed chat message dropped', { source: toHex(m.source).slice(0, 16), bytes: m.data.length });
      continue;
    }
    io.print(formatChatLine(room, msg));
  }
}

/** Each heartbeat, print the room's mesh size when it changed. */
function watchMesh(pubsub: GossipSub, topic: string, room: string, c: Components, io: ChatIO): { cancel(): void } {
  let last = 0;
  let cancelled = false;
  let timer = c.clock.setTimer(0, tick);
  function tick(): void {
    if (cancelled) return;
    const n = pubsub.router.meshPeers(topic).length;
    if (n !== last) io.print(`* ${n} peer(s) in the mesh of room ${room}`);
    last = n;
    timer = c.clock.setTimer(pubsub.router.config.heartbeatIntervalMs, tick);
  }
  return {
    cancel() {
      cancelled = true;
      timer.cancel();
    },
  };
}

/** Join through the --peer addresses; peers may start after us, so retry with backoff until one answers. */
async function join(node: NodeAssembly, c: Components, logger: Logger, io: ChatIO, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const results = await node.bootstrap({ signal });
      if (signal.aborted) return;
      const ok = results.filter((r) => r.ok).length;
      if (ok > 0) {
        io.print(`* joined the mesh through ${ok} of ${results.length} peer(s)`);
        return;
      }
      logger.warn('no --peer answered; retrying', { attempt });
    } catch (err) {
      if (signal.aborted) return;
      logger.warn('join failed; retrying', { attempt, error: errorText(err) });
    }
    const delayMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
    await new Promise<void>((resolve) => {
      const t = c.clock.setTimer(delayMs, resolve);
      signal.addEventListener('abort', () => { t.cancel(); resolve(); }, { once: true });
    });
  }
}

/** Call `onLine` for each input line; resolves at end of input or when `signal` aborts. */
function readLines(input: Readable, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    // terminal: false keeps the terminal in cooked mode: Ctrl-C is SIGINT, Ctrl-D ends the input.
    const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => rl.close();
    rl.on('line', onLine);
    rl.on('close', done);
    if (signal.aborted) rl.close();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
