/**
 * The NAT test server's second UDP port: a plain node:dgram socket bound beside the QUIC one.
 * Kept apart from nat-test-server.ts so the protocol code never touches a socket.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../core/logger.js';
import { ConfigError, TransportError } from '../errors.js';
import { joinAddr } from '../nat/addr.js';
import type { AltSocket } from './nat-test-server.js';

/** Bind a UDP socket at host:port (port 0 picks one); resolves once bound. */
export async function openAltSocket(host: string, port: number, logger: Logger): Promise<AltSocket> {
  const family = isIP(host);
  if (family === 0) throw new ConfigError(`NAT test server: host must be an IP address, got "${host}"`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`NAT test server: bad port ${port}`);
  const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new TransportError(`cannot bind NAT test port ${joinAddr(host, port)}: ${err.message}`));
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve();
    });
  });
  sock.on('error', (err) => logger.warn('NAT test socket error', { error: err.message }));
  const local = sock.address();
  let closed = false;
  return {
    localAddr: joinAddr(local.address, local.port),
    send(bytes, toHost, toPort) {
      if (closed) return;
      sock.send(bytes, toPort, toHost, (err) => {
        if (err) logger.debug('NAT test send failed', { to: joinAddr(toHost, toPort), error: err.message });
      });
    },
    onDatagram(cb) {
      sock.removeAllListeners('message');
      sock.on('message', (msg, rinfo) => cb(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), joinAddr(rinfo.address, rinfo.port)));
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}
