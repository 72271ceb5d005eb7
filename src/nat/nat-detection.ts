/**
 * NAT type detection (spec: NatType, NatReport, detect_nat_type), after RFC 4787 / RFC 5780.
 *
 * Three parts, kept apart like iroh's net_report: `planNatProbes` (pure: which probes, in which
 * phase), `classifyNat` (pure: results → report) and `detectNatType` (runs the plan through an
 * injected driver, with timeouts on the injected clock).
 *
 * Mapping is measured by asking "what is my address?" of destinations that differ in port only
 * (server 1, ports A and B) and in address (server 2): one reflexive address for all means
 * endpoint-independent mapping; a change across ports means address-and-port-dependent; a change
 * across addresses only, address-dependent. Filtering is measured by asking server 1 to answer
 * from a source we have never sent to — another address (a partner host) or another port — with
 * a NatTest request (a proposed wire message; here the driver's `requestReplyFrom`) whose answer
 * is a raw NAT-test datagram (raw-packets.ts). Filtering runs before the mapping probes to the
 * alternates, so our own traffic cannot open the filter it measures.
 *
 * Silence only measures filtering once the server has taken the test. A test it refused or that
 * failed is asked again within the probe's time: nodes start together, and a server (or the
 * partner it forwards the address test to) may answer a moment after the first client asks.
 */
import { STUN_TIMEOUT_MS } from '../constants.js';
import { sleep, type Clock } from '../core/clock.js';
import type { NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { sameHost, splitAddr, uniqueAddrs } from './addr.js';
import type { NatRule } from './nat-presets.js';

/** The classic NAT type the measured mapping and filtering add up to ('None': not translated). */
export type NatType = 'None' | 'FullCone' | 'RestrictedCone' | 'PortRestrictedCone' | 'Symmetric' | 'Unknown';
/** A measured RFC 4787 behaviour, or 'unknown' when the probes could not tell. */
export type NatBehaviour = NatRule | 'unknown';

/** Every NatType (the labels of the quicmesh_nat_type gauge). */
export const NAT_TYPES: readonly NatType[] = ['None', 'FullCone', 'RestrictedCone', 'PortRestrictedCone', 'Symmetric', 'Unknown'];

/** A node that answers WhatIsMyAddr (and, for filtering tests, NatTest). */
export interface NatServer {
  /** Primary address ("host:port"). */
  addr: string;
  /** The same host on another port, when the server listens on two. Enables the port tests. */
  altPortAddr?: string;
  nodeId?: NodeId;
}

/** A mapping test: the primary server, the same server on another port, or another server's address. */
export type MappingProbeId = 'map-primary' | 'map-other-port' | 'map-other-address';
/** A filtering test: a reply sent to us from another address (the partner server) or from another port. */
export type FilteringProbeId = 'filter-other-address' | 'filter-other-port';

/** One planned probe of NAT detection (a mapping, filtering or hairpin test) and the phase it runs in. */
export type NatProbe =
  | { kind: 'mapping'; id: MappingProbeId; phase: number; server: NatServer; dest: string }
  | { kind: 'filtering'; id: FilteringProbeId; phase: number; server: NatServer; alternate: 'address' | 'port' }
  | { kind: 'hairpin'; id: 'hairpin'; phase: number };

/** One probe's outcome: the reflexive address a mapping test saw, or whether a test packet came in. */
export type NatProbeResult =
  /** `reflexive` null: no answer in time. */
  | { id: MappingProbeId; reflexive: string | null }
  /** `received` null: the test could not run (server refused or errored). */
  | { id: FilteringProbeId; received: boolean | null }
  | { id: 'hairpin'; received: boolean | null };

/** The result of NAT detection: type, RFC 4787 mapping and filtering, public addresses, hairpinning, probe results. */
export interface NatReport {
  natType: NatType;
  mapping: NatBehaviour;
  filtering: NatBehaviour;
  /** Distinct reflexive addresses seen, in probe order. */
  publicAddrs: string[];
  /** Whether a packet to our own public address came back in; null when not tested. */
  hairpin: boolean | null;
  probes: NatProbeResult[];
}

/**
 * The probe plan for `servers` (server 1 should have `altPortAddr`; server 2 must be another
 * host). Phases run in order, probes within a phase concurrently:
 * 1 map-primary · 2 filtering tests (sent to server 1's primary) · 3 mapping to the alternates · 4 hairpin.
 * Probes the servers cannot support are left out; the classifier then reports 'unknown' for what
 * it could not tell.
 */
export function planNatProbes(servers: readonly NatServer[], opts: { hairpin?: boolean } = {}): NatProbe[] {
  if (servers.length === 0) throw new ConfigError('planNatProbes: at least one NAT server is required');
  for (const [i, s] of servers.entries()) {
    try {
      splitAddr(s.addr);
      if (s.altPortAddr !== undefined) splitAddr(s.altPortAddr);
    } catch (e) {
      throw new ConfigError(`planNatProbes: servers[${i}]: ${(e as Error).message}`);
    }
    if (s.altPortAddr !== undefined && !sameHost(s.addr, s.altPortAddr)) {
      throw new ConfigError(`planNatProbes: servers[${i}].altPortAddr must be on the same host as addr`);
    }
  }
  const s1 = servers[0]!;
  const s2 = servers.slice(1).find((s) => !sameHost(s.addr, s1.addr));
  const plan: NatProbe[] = [{ kind: 'mapping', id: 'map-primary', phase: 1, server: s1, dest: s1.addr }];
  plan.push({ kind: 'filtering', id: 'filter-other-address', phase: 2, server: s1, alternate: 'address' });
  if (s1.altPortAddr !== undefined) {
    plan.push({ kind: 'filtering', id: 'filter-other-port', phase: 2, server: s1, alternate: 'port' });
    plan.push({ kind: 'mapping', id: 'map-other-port', phase: 3, server: s1, dest: s1.altPortAddr });
  }
  if (s2 !== undefined) plan.push({ kind: 'mapping', id: 'map-other-address', phase: 3, server: s2, dest: s2.addr });
  if (opts.hairpin ?? true) plan.push({ kind: 'hairpin', id: 'hairpin', phase: 4 });
  return plan;
}

/** The reflexive address a mapping probe got: undefined when not run, null when unanswered. */
function reflexiveOf(results: readonly NatProbeResult[], id: MappingProbeId): string | null | undefined {
  const r = results.find((x) => x.id === id);
  return r !== undefined && 'reflexive' in r ? r.reflexive : undefined;
}

function receivedOf(results: readonly NatProbeResult[], id: FilteringProbeId | 'hairpin'): boolean | null | undefined {
  const r = results.find((x) => x.id === id);
  return r !== undefined && 'received' in r ? r.received : undefined;
}

/** Mapping behaviour, plus whether a mapping change was seen at all (then the NAT is Symmetric). */
function classifyMapping(x1: string, x2: string | null | undefined, x3: string | null | undefined): {
  mapping: NatBehaviour;
  varies: boolean;
} {
  // A different port at the same host already changes the mapping: address-and-port-dependent.
  if (x2 != null && x2 !== x1) return { mapping: 'address-and-port-dependent', varies: true };
  if (x3 != null && x3 !== x1) {
    // Only a different address changes it: address-dependent, if the port test confirmed that.
    return { mapping: x2 != null ? 'address-dependent' : 'unknown', varies: true };
  }
  // Both non-EIM behaviours give another mapping for another address, so x3 alone proves EIM.
  if (x3 != null) return { mapping: 'endpoint-independent', varies: false };
  return { mapping: 'unknown', varies: false };
}

function classifyFiltering(otherAddr: boolean | null | undefined, otherPort: boolean | null | undefined): NatBehaviour {
  // A packet that arrived is strong evidence; a missing one may be loss, so positives win.
  if (otherAddr === true) return 'endpoint-independent';
  if (otherPort === true) return otherAddr === false ? 'address-dependent' : 'unknown';
  if (otherPort === false) return 'address-and-port-dependent';
  return 'unknown';
}

/** Turn probe results into a report. `localAddrs` are our bound addresses ("host:port"). */
export function classifyNat(localAddrs: readonly string[], results: readonly NatProbeResult[]): NatReport {
  const x1 = reflexiveOf(results, 'map-primary') ?? null;
  const x2 = reflexiveOf(results, 'map-other-port');
  const x3 = reflexiveOf(results, 'map-other-address');
  const publicAddrs = uniqueAddrs([x1, x2, x3].filter((x): x is string => typeof x === 'string'));
  const hairpin = receivedOf(results, 'hairpin') ?? null;
  const probes = [...results];
  if (x1 === null) {
    return { natType: 'Unknown', mapping: 'unknown', filtering: 'unknown', publicAddrs, hairpin, probes };
  }
  const filtering = classifyFiltering(
    receivedOf(results, 'filter-other-address'),
    receivedOf(results, 'filter-other-port'),
  );
  if (localAddrs.includes(x1)) {
    // Not translated: no NAT (a firewall may still filter, which `filtering` reports).
    return { natType: 'None', mapping: 'endpoint-independent', filtering, publicAddrs, hairpin, probes };
  }
  const { mapping, varies } = classifyMapping(x1, x2, x3);
  let natType: NatType = 'Unknown';
  if (varies) natType = 'Symmetric';
  else if (mapping === 'endpoint-independent') {
    if (filtering === 'endpoint-independent') natType = 'FullCone';
    else if (filtering === 'address-dependent') natType = 'RestrictedCone';
    else if (filtering === 'address-and-port-dependent') natType = 'PortRestrictedCone';
  }
  return { natType, mapping, filtering, publicAddrs, hairpin, probes };
}

/** The I/O the detection needs; implemented over the QUIC transport's socket by the node. */
export interface NatProbeDriver {
  /** Ask `dest` for our reflexive address (WhatIsMyAddr → YourAddr.addr), from our main socket or `fromLocalPort`. */
  whatIsMyAddr(server: NatServer, dest: string, fromLocalPort?: number): Promise<string>;
  /**
   * Ask `server` (at its primary address) to send a NAT-test datagram to our reflexive address
   * from another address or port, and call `accepted` once the server has taken the test (only
   * then does silence count as filtering). Resolve 'received' when that datagram arrives,
   * 'unsupported' when the server says it cannot; never resolve for a datagram that does not
   * come (the detector's timeout decides).
   */
  requestReplyFrom(server: NatServer, alternate: 'address' | 'port', accepted: () => void): Promise<'received' | 'unsupported'>;
  /** Send to our own public `reflexive` address; resolve true when it comes back in. Optional. */
  hairpin?(reflexive: string): Promise<boolean>;
}

/** Settings of detectNatType: clock, our bound addresses, per-probe timeout, abort signal. */
export interface DetectNatOptions {
  clock: Clock;
  /** Our bound addresses, to recognise "no NAT". */
  localAddrs: readonly string[];
  /** ms per probe; default STUN_TIMEOUT_MS. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const TIMED_OUT = Symbol('timeout');
const FAILED = Symbol('failed');

/** Pause before asking again for a refused or failed filtering test: doubles from the first to the last; the last try leaves the first for its answer. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 500;

/** Settle with the promise's value, TIMED_OUT after `ms`, FAILED if it rejects; reject on abort. */
function within<T>(
  p: Promise<T>,
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<T | typeof TIMED_OUT | typeof FAILED> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(ms, () => done(TIMED_OUT));
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const done = (v: T | typeof TIMED_OUT | typeof FAILED): void => {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(done, () => done(FAILED));
  });
}

/** Run the plan against `servers` through `driver` and classify (spec: detect_nat_type). */
export async function detectNatType(
  driver: NatProbeDriver,
  servers: readonly NatServer[],
  opts: DetectNatOptions,
): Promise<NatReport> {
  const timeoutMs = opts.timeoutMs ?? STUN_TIMEOUT_MS;
  const plan = planNatProbes(servers, { hairpin: driver.hairpin !== undefined });
  const results: NatProbeResult[] = [];
  const phases = [...new Set(plan.map((p) => p.phase))].sort((a, b) => a - b);
  for (const phase of phases) {
    opts.signal?.throwIfAborted();
    const batch = plan.filter((p) => p.phase === phase);
    const done = await Promise.all(batch.map((p) => runProbe(driver, p, results, opts, timeoutMs)));
    for (const r of done) if (r !== undefined) results.push(r);
  }
  return classifyNat(opts.localAddrs, results);
}

async function runProbe(
  driver: NatProbeDriver,
  probe: NatProbe,
  earlier: readonly NatProbeResult[],
  opts: DetectNatOptions,
  timeoutMs: number,
): Promise<NatProbeResult | undefined> {
  const { clock, signal } = opts;
  switch (probe.kind) {
    case 'mapping': {
      const r = await within(driver.whatIsMyAddr(probe.server, probe.dest), clock, timeoutMs, signal);
      return { id: probe.id, reflexive: r === TIMED_OUT || r === FAILED ? null : r };
    }
    case 'filtering':
      return { id: probe.id, received: await filteringTest(driver, probe, clock, timeoutMs, signal) };
    case 'hairpin': {
      const x1 = reflexiveOf(earlier, 'map-primary');
      if (driver.hairpin === undefined || x1 == null) return undefined;
      const r = await within(driver.hairpin(x1), clock, timeoutMs, signal);
      return { id: 'hairpin', received: r === true };
    }
  }
}

/**
 * One filtering test within `budgetMs`: true when the reply came in; false when the server took
 * the test and no reply came (the measurement: filtered); null when no try was taken in time.
 * A refusal or an error tells nothing about our NAT — the server or its partner may still be
 * starting — so the test is asked again, after a growing pause, while the budget lasts.
 */
async function filteringTest(
  driver: NatProbeDriver,
  probe: Extract<NatProbe, { kind: 'filtering' }>,
  clock: Clock,
  budgetMs: number,
  signal?: AbortSignal,
): Promise<boolean | null> {
  const deadline = clock.now() + budgetMs;
  for (let pauseMs = RETRY_FIRST_MS; ; pauseMs = Math.min(2 * pauseMs, RETRY_MAX_MS)) {
    let accepted = false;
    const attempt = driver.requestReplyFrom(probe.server, probe.alternate, () => (accepted = true));
    const r = await within(attempt, clock, Math.max(0, deadline - clock.now()), signal);
    if (r === 'received') return true;
    if (r === TIMED_OUT) return accepted ? false : null;
    // the last try comes early enough to be answered (a server's partner may have come up meanwhile)
    const left = deadline - clock.now();
    if (left <= RETRY_FIRST_MS) return null;
    await sleep(clock, Math.min(pauseMs, left - RETRY_FIRST_MS), signal);
  }
}
