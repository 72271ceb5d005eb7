/**
 * Relayed paths: a QUIC connection whose packets travel through a relay session instead of our
 * UDP socket. Each such path gets a stand-in peer address in 0.0.0.0/8 ("this network": never a
 * valid destination, RFC 1122 §3.2.1.3), which is what quiche sees as the peer of that path. The
 * endpoint hands every packet addressed there to the path's carrier, and packets the carrier
 * delivers are routed as if they had arrived from that address. So a connection can start on a
 * relayed path and later move to a direct one with an ordinary QUIC migration (probePath +
 * migrate): its streams never notice.
 */
import { TransportError } from '../../errors.js';
import type { PacketCarrier } from '../paths.js';
import type { HostPort } from './addr.js';


/** Hosts 0.x.y.z stand for relayed paths (works on "host:port" strings too). */
export function isRelayedHost(host: string): boolean {
  return host.length > 2 && host.charCodeAt(0) === 48 /* 0 */ && host.charCodeAt(1) === 46 /* . */;
}

const MAX_PATHS = 1 << 24;

export class RelayedPaths {
  private next = 1;
  private readonly carriers = new Map<string, PacketCarrier>();

  /** A fresh stand-in address for `carrier`. */
  add(carrier: PacketCarrier): HostPort {
    if (this.carriers.size >= MAX_PATHS - 1) throw new TransportError('too many relayed paths');
    let n = this.next;
    while (this.carriers.has(hostOf(n))) n = (n % (MAX_PATHS - 1)) + 1;
    this.next = (n % (MAX_PATHS - 1)) + 1;
    const hp = { host: hostOf(n), port: 1 };
    this.carriers.set(hp.host, carrier);
    return hp;
  }

  get(host: string): PacketCarrier | undefined {
    return this.carriers.get(host);
  }

  remove(host: string): void {
    this.carriers.delete(host);
  }

  get size(): number {
    return this.carriers.size;
  }

  clear(): void {
    this.carriers.clear();
  }
}

function hostOf(n: number): string {
  return `0.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
