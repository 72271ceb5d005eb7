/**
 * Loopback pieces of the QUIC integration tests: UDP sockets and transports that are closed after
 * each test, and a port nobody listens on.
 */
import dgram from 'node:dgram';
import { afterEach } from 'vitest';

/** A UDP port nothing listens on (bound, noted, released). */
export async function deadPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Register, for the calling test file, an afterEach that closes what the tests opened: `track` a
 * transport (anything with an async close), `udp()` a UDP socket bound on 127.0.0.1.
 */
export function closedAfterEach(): { track<T extends { close(): Promise<void> }>(t: T): T; udp(): Promise<dgram.Socket> } {
  const open: { close(): Promise<void> }[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    for (const s of sockets.splice(0)) s.close();
  });
  return {
    track(t) {
      open.push(t);
      return t;
    },
    async udp() {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      sockets.push(sock);
      return sock;
    },
  };
}
