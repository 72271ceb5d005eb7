/**
 * `quicmesh node`: run one mesh node until SIGINT/SIGTERM (then stop cleanly and exit 0).
 * Flags are validated up front; a bad one is a ConfigError (exit 2, one line, no stack).
 */
import type { CommandModule } from 'yargs';
import { LineLogger, parseLogLevel, type LogLevel } from '../../src/core/logger.js';
import { ConfigError } from '../../src/errors.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import { NAT_OPTIONS, natConfigFromArgs, type NatArgs } from './nat-flags.js';
import { runNode, type NodeConfig } from './run-node.js';
import { abortOnStopSignals } from '../shared/signals.js';

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export interface NodeArgs extends NatArgs {
  listen: string;
  bootstrap?: string[];
  key?: string;
  metrics?: string;
  'telemetry-interval': number;
  'log-level'?: string;
  subscribe?: string[];
  relay?: boolean;
  'relay-peer'?: string[];
  interface?: string;
}

/** Turn parsed flags into a checked configuration. */
export function nodeConfigFromArgs(args: NodeArgs): NodeConfig {
  const interval = args['telemetry-interval'];
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new ConfigError(`--telemetry-interval: expected a positive number of seconds, got "${interval}"`);
  }
  const bootstrap = (args.bootstrap ?? []).map((b) => formatHostPort(parseHostPort(String(b), '--bootstrap')));
  const relayPeers = (args['relay-peer'] ?? []).map((b) => formatHostPort(parseHostPort(String(b), '--relay-peer')));
  if (args.key !== undefined && args.key.trim() === '') throw new ConfigError('--key: expected a file path');
  if (args.interface !== undefined && !/^[A-Za-z0-9_.@-]{1,15}$/.test(args.interface)) {
    throw new ConfigError(`--interface: expected a network interface name, got "${args.interface}"`);
  }
  return {
    ...(args.interface !== undefined ? { interface: args.interface } : {}),
    listen: parseHostPort(String(args.listen), '--listen', { allowPortZero: true, requireIp: true }),
    bootstrap,
    relay: args.relay ?? false,
    relayPeers,
    keyFile: args.key,
    ...natConfigFromArgs(args),
    metrics: args.metrics === undefined ? undefined : parseHostPort(String(args.metrics), '--metrics', { allowPortZero: true }),
    // Cap at the largest delay setInterval accepts (~24.8 days).
    telemetryIntervalMs: Math.min(interval * 1000, 2 ** 31 - 1),
    subscribe: (args.subscribe ?? []).map((t) => {
      const topic = String(t);
      if (topic.length === 0 || Buffer.byteLength(topic) > 256) {
        throw new ConfigError(`--subscribe: a topic is 1 to 256 bytes, got "${topic.slice(0, 40)}"`);
      }
      return topic;
    }),
  };
}

export const nodeCommand: CommandModule<object, NodeArgs> = {
  command: 'node',
  describe: 'Run a mesh node (QUIC) until SIGINT/SIGTERM',
  builder: (y) =>
    y
      .option('listen', {
        type: 'string',
        default: '0.0.0.0:0',
        describe: 'UDP address to listen on, HOST:PORT (port 0 picks a free one)',
      })
      .option('interface', {
        type: 'string',
        describe: 'With a wildcard --listen: advertise (and follow changes of) this interface\'s IPv4 address',
      })
      .option('bootstrap', { type: 'string', array: true, describe: 'HOST:PORT of a peer to join through (repeatable)' })
      .option('relay', { type: 'boolean', default: false, describe: 'Serve relay sessions for nodes that cannot reach each other' })
      .option('relay-peer', {
        type: 'string',
        array: true,
        describe: 'HOST:PORT of a relay to stay reachable through, and to connect through when a dial fails (repeatable)',
      })
      .option('key', {
        type: 'string',
        describe: 'File holding the 32-byte secret key; created (mode 0600) when absent',
      })
      .option('metrics', { type: 'string', describe: 'Serve /metrics, /status, /healthz and POST /connect over HTTP at HOST:PORT' })
      .option('subscribe', {
        type: 'string',
        array: true,
        describe: 'Join the gossip mesh of TOPIC (repeatable); received messages are logged at debug',
      })
      .options(NAT_OPTIONS)
      .option('telemetry-interval', { type: 'number', default: 300, describe: 'Seconds between telemetry log lines' })
      .option('log-level', {
        type: 'string',
        choices: LOG_LEVELS,
        describe: 'Log level (overrides QUICMESH_LOG; default info)',
      }) as never,
  handler: async (args) => {
    const config = nodeConfigFromArgs(args);
    const level = args['log-level'] ? parseLogLevel(args['log-level']) : parseLogLevel(process.env.QUICMESH_LOG);
    const logger = new LineLogger({ level, scope: 'quicmesh' });
    const stop = abortOnStopSignals();
    try {
      await runNode(config, logger, stop.signal);
    } finally {
      stop.dispose();
    }
  },
};
