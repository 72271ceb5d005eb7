/**
 * Keeps a node's RelayClient (relay ranking: rtt + load·100 + tier·20) fed for its smart
 * connections: relays' signed RelayInfo from the DHT directory (load, accepting, capabilities),
 * refreshed every `intervalMs`, and the RTT of our live connection to each known relay as its
 * measurement. The first refresh runs right after the node joined (`refresh()`).
 */
import type { Components } from '../core/components.js';
import { TimerGroup } from '../core/timer-group.js';
import type { DhtNode } from '../dht/dht-node.js';
import type { RelayClient } from '../nat/relay/relay-client.js';
import type { ConnectionControl } from '../transport/paths.js';

/** What a RelayRanking reads and feeds: the DHT's relay directory, a RelayClient, path RTTs, the refresh period. */
export interface RelayRankingOptions {
  dht: Pick<DhtNode, 'discoverRelays'>;
  client: RelayClient;
  transport: Pick<ConnectionControl, 'pathInfo'>;
  components: Pick<Components, 'clock' | 'logger'>;
  /** ms between directory reads. Default 60 000. */
  intervalMs?: number;
}

/** Keeps a RelayClient's ranking current: relays' signed infos from the DHT directory and our RTT to each. */
export class RelayRanking {
  private readonly timers: TimerGroup;
  private started = false;
  /** Settles when the first directory read (started by start()) is done. */
  firstRefresh: Promise<number> = Promise.resolve(0);

  constructor(private readonly opts: RelayRankingOptions) {
    this.timers = new TimerGroup(opts.components.clock, (err) =>
      opts.components.logger.debug('relay directory refresh failed', { error: String(err) }),
    );
  }

  /** Read the directory now, then on the interval. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.firstRefresh = this.refresh();
    this.timers.every(this.opts.intervalMs ?? 60_000, () => void this.refresh());
  }

  stop(): void {
    this.timers.cancelAll();
  }

  /** One directory read and RTT update; never rejects. */
  async refresh(): Promise<number> {
    let taken = 0;
    try {
      taken = this.opts.client.updateFromInfos(await this.opts.dht.discoverRelays());
    } catch (err) {
      this.opts.components.logger.debug('relay directory read failed', { error: String(err) });
    }
    for (const r of this.opts.client.rankedRelays()) {
      const rtt = this.opts.transport.pathInfo(r.nodeId)?.rttMs;
      if (rtt != null) this.opts.client.updateRelayRtt(r.nodeId, rtt);
    }
    return taken;
  }
}
