/**
 * An early keep-alive for a connection whose peer stopped sending in the middle of a stream.
 *
 * Why: when our NAT forgets its mapping (a home router reboots), the peer's packets die at the router
 * until *we* send again — from the same mapping re-created, or from a new one the peer can follow. A
 * connection in use only sends a keep-alive every 2 s, so a stream the peer writes to us stalled for
 * up to 2 s plus the peer's retransmission back-off (quickstart-reboot: bob -> alice-1). Silence in
 * the middle of a stream is the one sign we get: a PING then re-opens the pinhole at once and, the
 * first time, tells the node to check its mapping now instead of at the next periodic check.
 *
 * What counts is stream data from the peer, not any packet: our own PING is answered by an ACK, which
 * must not start a new episode (an idle stream would be pinged for ever). One silence gets probes
 * after afterMs, 2·afterMs, 4·afterMs … while that stays under untilMs (the regular keep-alive
 * period, which takes over from there); a silence that began untilMs ago or earlier gets none.
 *
 * The other side of the same silence: a peer we are sending to is heard again (its probe came through
 * the re-opened pinhole). What we sent meanwhile died at its router and, with no ACK since, quiche only
 * resends it at its next PTO, backed off to a second or more by then. A PING right away is acknowledged
 * within a round trip, and that ACK makes quiche declare the older packets lost and resend them now.
 * Pure: the caller passes the time.
 */

/** Default silence before the first early keep-alive, ms: a streaming peer sends far more often. */
export const SILENCE_PROBE_MS = 250;

/** What SilenceProbe.check says: nothing to do, the first probe of a silence, or a later one. */
export type SilenceVerdict = 'quiet' | 'first' | 'again';

/** One connection's silence bookkeeping (see the module comment). */
export class SilenceProbe {
  private dataAt: number | null = null;
  private probes = 0;
  private packetAt: number | null = null;

  constructor(
    private readonly afterMs: number,
    private readonly untilMs: number,
  ) {}

  /** Stream data from the peer arrived at `now`: a new silence, if any, starts from here. */
  heard(now: number): void {
    this.dataAt = now;
    this.probes = 0;
  }

  /**
   * Packets from the peer arrived at `now`; true when they end a silence of afterMs or more while we
   * are `sending` (a stream we write is open): PING, so that its ACK lets quiche resend what was lost.
   */
  resumed(now: number, sending: boolean): boolean {
    const before = this.packetAt;
    this.packetAt = now;
    return sending && before !== null && now - before >= this.afterMs;
  }

  /**
   * Whether to PING now (`first`: the first probe of this silence, `again`: a later one), given that
   * we are still `receiving` (a stream the peer writes to us is open).
   */
  check(now: number, receiving: boolean): SilenceVerdict {
    if (!receiving || this.dataAt === null) return 'quiet';
    const silentFor = now - this.dataAt;
    // a silence older than the keep-alive period is not news (e.g. a request stream opened long after
    // the last data): the regular keep-alive covers it
    if (silentFor >= this.untilMs) return 'quiet';
    const wait = this.afterMs * 2 ** this.probes;
    if (wait >= this.untilMs || silentFor < wait) return 'quiet';
    this.probes++;
    return this.probes === 1 ? 'first' : 'again';
  }
}
