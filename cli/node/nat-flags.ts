/**
 * The `quicmesh node` NAT detection flags: --nat-server [--nat-alt-port N] [--nat-partner HOST:PORT]
 * make the node a NAT test server; --nat-detect HOST:PORT[/ALT][,HOST:PORT] makes it classify its
 * own NAT against such servers (src/traversal/nat-service.ts).
 */
import { ConfigError } from '../../src/errors.js';
import { parseNatServers } from '../../src/nat/nat-servers.js';
import type { NatDetectConfig, NatServerConfig } from '../../src/traversal/nat-service.js';
import { formatHostPort, parseHostPort } from './host-port.js';

export interface NatArgs {
  'nat-server'?: boolean;
  'nat-alt-port'?: number;
  'nat-partner'?: string;
  'nat-detect'?: string;
}

export const NAT_OPTIONS = {
  'nat-server': { type: 'boolean', default: false, describe: 'Answer NAT type tests (NatTest, address probes on a second UDP port)' },
  'nat-alt-port': { type: 'number', describe: 'The NAT test server\'s second UDP port (default: the listen port + 1)' },
  'nat-partner': { type: 'string', describe: 'HOST:PORT of the partner NAT test server on another IP (address tests)' },
  'nat-detect': {
    type: 'string',
    describe: 'Detect our NAT type against NAT test servers HOST:PORT[/ALTPORT][,HOST:PORT] (the second on another IP)',
  },
} as const;

export function natConfigFromArgs(args: NatArgs): { natServer?: NatServerConfig; natDetect?: NatDetectConfig } {
  const out: { natServer?: NatServerConfig; natDetect?: NatDetectConfig } = {};
  const altPort = args['nat-alt-port'];
  const partner = args['nat-partner'];
  if (args['nat-server']) {
    if (altPort !== undefined && !(Number.isInteger(altPort) && altPort >= 1 && altPort <= 65535)) {
      throw new ConfigError(`--nat-alt-port: expected a port within 1-65535, got "${altPort}"`);
    }
    out.natServer = {
      altPort,
      partner: partner === undefined ? undefined : formatHostPort(parseHostPort(String(partner), '--nat-partner')),
    };
  } else if (altPort !== undefined || partner !== undefined) {
    throw new ConfigError('--nat-alt-port and --nat-partner need --nat-server');
  }
  if (args['nat-detect'] !== undefined) out.natDetect = { servers: parseNatServers(String(args['nat-detect'])) };
  return out;
}
