/**
 * Noticing that the node's network changed under it (another Wi-Fi, a DHCP renumbering, the lab's
 * `move`), for a node whose socket listens on a wildcard address and so survives the change:
 * - `localAddressToward(host)`: the local address the kernel would send from toward `host` (a
 *   connected UDP socket's own address; connecting a UDP socket sends nothing);
 * - NetworkWatch: polls the interface addresses (os.networkInterfaces) on the clock and calls back
 *   once per change with the new local address toward a reference host — or null when there is no
 *   route, and then again once a route is back.
 * What a node does about a change (new reflexive address, republished endpoint record, punches to
 * its peers so their connections follow) is wired in createNode.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '../core/clock.js';

/** The local IPv4 address used toward `host`, or null when there is no route. */
export function localAddressToward(host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: string | null): void => {
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(v);
    };
    s.once('error', () => done(null));
    s.connect(9, host, () => {
      try {
        const local = s.address().address;
        // with no address to send from, the kernel can still "connect" from the wildcard
        done(local === '0.0.0.0' ? null : local);
      } catch {
        done(null);
      }
    });
  });
}

/** The first IPv4 address of interface `name`, or null. */
export function interfaceAddress(name: string): string | null {
  return networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address ?? null;
}

/**
 * Our address on interface `name`, as soon as the kernel sends from it. os.networkInterfaces()
 * lists only interfaces flagged running, and Linux sets that flag up to a second after the carrier
 * came (linkwatch rate-limits the change); packets flow meanwhile. While `name` is not listed, the
 * source address the kernel picks toward `referenceHost` stands in for it — unless a listed
 * interface holds that address (then the route goes elsewhere, not over `name`).
 */
export async function interfaceAddressNow(name: string, referenceHost: string): Promise<string | null> {
  const listed = interfaceAddress(name);
  if (listed !== null) return listed;
  const routed = await localAddressToward(referenceHost);
  if (routed === null) return null;
  for (const addrs of Object.values(networkInterfaces())) if (addrs?.some((a) => a.address === routed)) return null;
  return routed;
}

/** The machine's non-loopback IPv4 addresses, as one comparable string. */
export function interfaceFingerprint(): string {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(`${name}=${a.cidr ?? a.address}`);
  }
  return out.sort().join(',');
}

export interface NetworkWatchOptions {
  clock: Clock;
  /** Where the node's traffic goes (a bootstrap or relay host): the local address toward it is "ours". */
  referenceHost: string;
  /** Poll period, ms. Default 100 (reading the interface list costs tens of microseconds). */
  intervalMs?: number;
  /** Called with the new local address (null: no route now) after the interfaces changed. */
  onChange(localAddress: string | null): void;
  /** Injectable for tests. */
  fingerprint?: () => string;
  toward?: (host: string) => Promise<string | null>;
}

export class NetworkWatch {
  private timer: TimerHandle | undefined;
  private last: string;
  /** What the last change reported (undefined before any): null while there was no route. */
  private lastAddr: string | null | undefined;
  private running = false;
  private readonly intervalMs: number;
  private readonly fingerprint: () => string;
  private readonly toward: (host: string) => Promise<string | null>;

  constructor(private readonly opts: NetworkWatchOptions) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.fingerprint = opts.fingerprint ?? interfaceFingerprint;
    this.toward = opts.toward ?? localAddressToward;
    this.last = this.fingerprint();
  }

  /** The local address toward the reference host now. */
  current(): Promise<string | null> {
    return this.toward(this.opts.referenceHost);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimer(this.intervalMs, () => {
      if (!this.running) return;
      const now = this.fingerprint();
      if (now !== this.last) {
        this.last = now;
        return this.check(true);
      }
      // No route at the last change: the routes may come a moment after the addresses (one
      // `ip -batch` renames, brings up, then routes), and a route alone changes no address.
      if (this.lastAddr === null) return this.check(false);
      this.schedule();
    });
  }

  /** Ask the kernel for our address now; report it when the addresses changed or a route is back. */
  private check(changed: boolean): void {
    void this.toward(this.opts.referenceHost).then((addr) => {
      if (!this.running) return;
      if (changed || addr !== null) {
        this.lastAddr = addr;
        this.opts.onChange(addr);
      }
      if (this.running) this.schedule();
    });
  }
}
