/**
 * Which path a verified dial took — 'direct' or 'hole-punched' — decided from what the peer sent
 * us and when, not from a race with the rendezvous.
 *
 * The question: did the peer's NAT admit our plain dial unsolicited ('direct'), or only after the
 * peer punched toward us ('hole-punched')? The peer punches only once the rendezvous's one-way
 * HolePunchReady reached it, and its ICE checks travel its NAT the way its QUIC packets do. So:
 *
 * 1. The dial went to an address the punch taught us (not one of the peer's record): hole-punched.
 * 2. A check from the peer reached us no later than its first answer to us (the first QUIC packet
 *    of the dialled connection, or its answer to our pre-check): it had opened its NAT toward us
 *    before it answered — hole-punched.
 * 3. It answered our pre-check — an ICE check sent beside the dial's first flight, from the same
 *    socket to the same address, before we asked the rendezvous for anything: its NAT let in a
 *    packet that arrived before the peer could have been told to punch (the path through the
 *    rendezvous is no shorter than the direct one) — direct. Needed for an initiator behind a
 *    symmetric NAT: the peer's checks go to the mapping the rendezvous saw, which its NAT drops, so
 *    "no check before the QUIC packet" proves nothing there.
 * 4. The connection's first packet came before the rendezvous answered us (or no punch was
 *    answered at all): the peer answered before it could have been told to punch — direct.
 * 5. Otherwise nothing shows that the peer's NAT admitted us unsolicited: it answered only after it
 *    was told to punch — hole-punched.
 */
import type { ConnectPath } from './smart-connector-types.js';

/** What a connect saw of the peer, for one verified dial (times on the node's clock, ms). */
export interface DialEvidence {
  /** The dialled address came from the punch (the rendezvous or the checks), not from the peer's record. */
  punchTaught: boolean;
  /** When the dialled connection's first packet from the peer arrived; null when the transport cannot tell. */
  firstHeardAt: number | null;
  /** When the first ICE check from the peer arrived during this connect; null: none. */
  firstCheckAt: number | null;
  /** When the peer answered our pre-check to the dialled address; null: no answer (yet). */
  precheckAnsweredAt: number | null;
  /** When the rendezvous answered our HolePunchStart; null: no punch answered (yet). */
  punchAnsweredAt: number | null;
}

/** The path label of a verified dial (see the module comment for the rules and why). */
export function dialPath(e: DialEvidence): Exclude<ConnectPath, 'relayed'> {
  if (e.punchTaught) return 'hole-punched';
  const answers = [e.firstHeardAt, e.precheckAnsweredAt].filter((t): t is number => t !== null);
  const firstAnswerAt = answers.length > 0 ? Math.min(...answers) : null;
  if (e.firstCheckAt !== null && (firstAnswerAt === null || e.firstCheckAt <= firstAnswerAt)) return 'hole-punched';
  if (e.precheckAnsweredAt !== null) return 'direct';
  if (e.punchAnsweredAt === null) return 'direct';
  if (e.firstHeardAt !== null && e.firstHeardAt < e.punchAnsweredAt) return 'direct';
  return 'hole-punched';
}
