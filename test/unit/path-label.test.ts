/**
 * Path labels from evidence (src/traversal/path-label.ts): a verified dial is 'direct' when the
 * peer's NAT let our plain dial in unsolicited, 'hole-punched' when the peer had to punch toward us
 * first — decided from what the peer sent and when, not from a race with the rendezvous's answer.
 *
 * The property test replays one connect on a timeline of one-way delays (A↔B direct, A↔R and R↔B
 * through the rendezvous R, any delays a triangle allows) and the NAT behaviours of the matrix, the
 * way the connector sees it: A sends its pre-check and first Initial to B's mapping at t=0 (the
 * Initial repeated every 5 ms) and asks R at once; R answers A and notifies B; B punches when the
 * notify arrives. The label must be the truth (B's NAT admitted unsolicited traffic or not) for
 * every timing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dialPath, type DialEvidence } from '../../src/traversal/path-label.js';

const none: DialEvidence = { punchTaught: false, firstHeardAt: null, firstCheckAt: null, precheckAnsweredAt: null, punchAnsweredAt: null };
const ev = (e: Partial<DialEvidence>): DialEvidence => ({ ...none, ...e });

describe('dialPath: the rules', () => {
  it('a public peer, no punch at all: direct', () => {
    expect(dialPath(ev({ firstHeardAt: 20 }))).toBe('direct');
    expect(dialPath(ev({ firstHeardAt: 20, precheckAnsweredAt: 19 }))).toBe('direct');
  });

  it('full-cone peer: it answered our pre-check before any check of its punch came — direct, however late the dial verifies', () => {
    // the rendezvous answered at 20, the same moment as the peer's first QUIC packet: no race any more
    for (const heard of [19, 20, 21, 35]) {
      expect(dialPath(ev({ precheckAnsweredAt: 20, firstHeardAt: heard, punchAnsweredAt: 20, firstCheckAt: 30 }))).toBe('direct');
    }
  });

  it('restricted-cone peer: its check reached us before its answer to our repeated Initial — hole-punched', () => {
    expect(dialPath(ev({ firstCheckAt: 30, firstHeardAt: 35, punchAnsweredAt: 20 }))).toBe('hole-punched');
    // the QUIC answer left right behind the check that opened the NAT (a tie): still hole-punched
    expect(dialPath(ev({ firstCheckAt: 30, firstHeardAt: 30, punchAnsweredAt: 20 }))).toBe('hole-punched');
  });

  it('symmetric-NAT initiator, restricted-cone peer: the peer\'s checks cannot reach us, yet it answered only after it was told to punch — hole-punched', () => {
    expect(dialPath(ev({ firstHeardAt: 35, punchAnsweredAt: 20, firstCheckAt: 40 }))).toBe('hole-punched');
    expect(dialPath(ev({ firstHeardAt: 35, punchAnsweredAt: 20 }))).toBe('hole-punched');
  });

  it('symmetric-NAT peer: the dial that verified went to the address its checks came from — hole-punched', () => {
    expect(dialPath(ev({ punchTaught: true, firstHeardAt: 45, firstCheckAt: 30, punchAnsweredAt: 20 }))).toBe('hole-punched');
    // even when nothing else would say so
    expect(dialPath(ev({ punchTaught: true, firstHeardAt: 5, precheckAnsweredAt: 4 }))).toBe('hole-punched');
  });

  it('a peer that punched toward us before our connect could ask it (its own connect to us): hole-punched', () => {
    expect(dialPath(ev({ firstCheckAt: 2, precheckAnsweredAt: 20, firstHeardAt: 20 }))).toBe('hole-punched');
  });

  it('the connection answered before the rendezvous did (pre-check lost): direct', () => {
    expect(dialPath(ev({ firstHeardAt: 18, punchAnsweredAt: 20, firstCheckAt: 30 }))).toBe('direct');
  });

  it('a transport that cannot tell when it first heard the peer: a check decides, else the punch answer does', () => {
    expect(dialPath(ev({ firstCheckAt: 30, punchAnsweredAt: 20 }))).toBe('hole-punched');
    expect(dialPath(ev({ punchAnsweredAt: 20 }))).toBe('hole-punched');
    expect(dialPath(ev({ precheckAnsweredAt: 20, punchAnsweredAt: 20 }))).toBe('direct');
  });
});

/** B's NAT as the timeline sees it: admits A unsolicited, or only after B sent toward A. */
type PeerNat = 'public' | 'full-cone' | 'restricted-cone' | 'port-restricted-cone';

interface Timeline {
  /** One-way delays, ms: A↔B, A↔R, R↔B. */
  ab: number;
  ar: number;
  rb: number;
  /** B's time to answer an Initial (TLS), and to send its first check after the notify arrived. */
  quicProc: number;
  readyProc: number;
  /** A's NAT maps per destination (symmetric): B's checks to the mapping R saw never reach A. */
  aSymmetric: boolean;
  peer: PeerNat;
}

const INITIAL_REPEAT_MS = 5;

/** What A's connector records for the dial to B's mapping, on this timeline. */
function evidence(t: Timeline): DialEvidence {
  const open = t.peer === 'public' || t.peer === 'full-cone';
  const punchAnsweredAt = 2 * t.ar;
  const bNotified = t.ar + t.rb;
  // B's NAT lets A in from this time on (at once when open; once B's first check left when filtering)
  const bAdmitsFrom = open ? 0 : bNotified + t.readyProc;
  // B's first check reaches A directly, unless A's symmetric NAT drops it (it goes to the mapping R
  // saw); then B's first check to reach A is the one triggered by A's own check (sent once R answered)
  const aCheckAtB = Math.max(punchAnsweredAt + t.ab, bAdmitsFrom);
  const firstCheckAt = t.aSymmetric ? aCheckAtB + t.ab : bNotified + t.readyProc + t.ab;
  const precheckAnsweredAt = open ? 2 * t.ab : null;
  // the first Initial copy that arrives at B once its NAT admits A
  const sentAt = Math.max(0, Math.ceil((bAdmitsFrom - t.ab) / INITIAL_REPEAT_MS) * INITIAL_REPEAT_MS);
  const firstHeardAt = sentAt + t.ab + t.quicProc + t.ab;
  return { punchTaught: false, firstHeardAt, firstCheckAt, precheckAnsweredAt, punchAnsweredAt };
}

const timelines = fc
  .record({
    ab: fc.integer({ min: 1, max: 60 }),
    ar: fc.integer({ min: 1, max: 60 }),
    rb: fc.integer({ min: 1, max: 60 }),
    quicProc: fc.double({ min: 0, max: 8, noNaN: true }),
    readyProc: fc.double({ min: 0.01, max: 2, noNaN: true }),
    aSymmetric: fc.boolean(),
    peer: fc.constantFrom<PeerNat>('public', 'full-cone', 'restricted-cone', 'port-restricted-cone'),
  })
  // a direct path no longer than the way through the rendezvous (and the other triangle sides)
  .filter((t) => t.ab <= t.ar + t.rb && t.ar <= t.ab + t.rb && t.rb <= t.ab + t.ar)
  // a symmetric initiator and a port-restricted peer never meet directly (relayed)
  .filter((t) => !(t.aSymmetric && t.peer === 'port-restricted-cone'));

describe('dialPath on connect timelines (seeded property)', () => {
  it('labels every timing with what happened: direct exactly when the peer\'s NAT admitted us unsolicited', () => {
    fc.assert(
      fc.property(timelines, (t) => {
        const truth = t.peer === 'public' || t.peer === 'full-cone' ? 'direct' : 'hole-punched';
        expect(dialPath(evidence(t))).toBe(truth);
      }),
      { seed: 20261205, numRuns: 2_000 },
    );
  });

  it('the moment the rendezvous answers does not decide the label once the peer answered or punched', () => {
    fc.assert(
      fc.property(timelines, fc.integer({ min: 0, max: 200 }), (t, answeredAt) => {
        // (not for a symmetric initiator behind a filtering peer: no check of the peer's can reach
        // it before the peer answers, so there the answer's time is what is known)
        fc.pre(!(t.aSymmetric && (t.peer === 'restricted-cone' || t.peer === 'port-restricted-cone')));
        const e = evidence(t);
        expect(dialPath({ ...e, punchAnsweredAt: answeredAt })).toBe(dialPath(e));
      }),
      { seed: 7, numRuns: 1_000 },
    );
  });
});
