/**
 * `quicmesh chat`: the spec's chatroom example (`cargo run --example chatroom -- --name alice
 * --room lobby --port 4433`, then `--peer 127.0.0.1:4433`) as a verb of the node binary:
 *
 *   quicmesh chat --name alice --room lobby --port 4433
 *   quicmesh chat --name bob --room lobby --peer 127.0.0.1:4433
 *
 * Each process is a full node (QUIC, DHT join through --peer, pubsub on `chat/<room>`); type lines
 * to send them, Ctrl-D or Ctrl-C leaves. See chat-session.ts for the output lines.
 *
 * Inside a lab (`quicmesh-lab up`), from the repository root, on a port other than the lab node's
 * own, listening on the node's lab address (as `quicmesh-lab status` or the topology lists it) so
 * that the address peers learn through the DHT is one they can dial:
 *
 *   quicmesh-lab exec alice -- node bin/quicmesh.js chat --name alice --room lobby --host 10.0.1.2 --port 4500
 *   quicmesh-lab exec bob -- node bin/quicmesh.js chat --name bob --room lobby --host 10.0.2.2 --port 4500 \
 *     --peer 10.0.1.2:4500
 */
import { isIP } from 'node:net';
import type { CommandModule } from 'yargs';
import { LineLogger, parseLogLevel, type LogLevel } from '../../src/core/logger.js';
import { ConfigError } from '../../src/errors.js';
import { checkName, checkRoom } from './chat-message.js';
import { runChat, type ChatConfig } from './chat-session.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import { abortOnStopSignals } from '../shared/signals.js';

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export interface ChatArgs {
  name: string;
  room: string;
  port: number;
  host: string;
  peer?: string[];
  key?: string;
  'log-level'?: string;
}

/** Turn parsed flags into a checked configuration; a bad flag is a ConfigError naming it. */
export function chatConfigFromArgs(args: ChatArgs): ChatConfig {
  const port = args.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--port: expected a port within 0-65535 (0 picks a free one), got "${port}"`);
  }
  const host = String(args.host);
  if (isIP(host) === 0) throw new ConfigError(`--host: expected an IP address to listen on, got "${host}"`);
  if (args.key !== undefined && args.key.trim() === '') throw new ConfigError('--key: expected a file path');
  return {
    name: checkName(String(args.name)),
    room: checkRoom(String(args.room)),
    listen: { host, port },
    peers: (args.peer ?? []).map((p) => formatHostPort(parseHostPort(String(p), '--peer'))),
    keyFile: args.key,
  };
}

export const chatCommand: CommandModule<object, ChatArgs> = {
  command: 'chat',
  describe: 'Chat in a room over the mesh (pubsub topic chat/<room>); lines from stdin are sent',
  builder: (y) =>
    y
      .option('name', { type: 'string', demandOption: true, describe: 'Your name in the room' })
      .option('room', { type: 'string', demandOption: true, describe: 'Room to join (topic chat/<room>)' })
      .option('port', { type: 'number', default: 0, describe: 'UDP port to listen on (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'IP address to listen on' })
      .option('peer', { type: 'string', array: true, describe: 'HOST:PORT of a peer to join through (repeatable)' })
      .option('key', { type: 'string', describe: 'File holding the 32-byte secret key; created when absent' })
      .option('log-level', {
        type: 'string',
        choices: LOG_LEVELS,
        describe: 'Log level on stderr (overrides QUICMESH_LOG; default warn)',
      }) as never,
  handler: async (args) => {
    const config = chatConfigFromArgs(args);
    const level = parseLogLevel(args['log-level'] ?? process.env.QUICMESH_LOG, 'warn');
    const logger = new LineLogger({ level, scope: 'quicmesh-chat' });
    const stop = abortOnStopSignals();
    try {
      await runChat(config, { input: process.stdin, print: (line) => void process.stdout.write(line + '\n') }, logger, stop.signal);
    } finally {
      stop.dispose();
      // A terminal or pipe left open would keep the process alive after leaving.
      process.stdin.destroy();
    }
  },
};
