/**
 * Path probing (spec: PathProber, PathCandidate, PathProbe/PathReply): the set of paths to one
 * peer — the connection's current one, the peer's direct candidates, relays — each probed with a
 * PathProbe carrying a random nonce and validated by the PathReply echoing it. Pure: the driver
 * sends what `generateProbes(now)` returns (as a wire message on the connection, or as a raw
 * datagram: encoded messages start with 0x01, which the QUIC socket hands to its raw hook) and
 * feeds replies to `onReply`.
 *
 * Per path: 'unknown' (never probed) → 'probing' (probe out, no answer yet) → 'validated' (an
 * answer; RTT smoothed as RFC 6298's SRTT) or 'failed' (`maxFailures` unanswered in a row).
 * Validated paths are re-probed every `probeIntervalMs`, failed ones every `failedRetryMs`.
 */
import { toHex } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { Contact } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { isHostPort } from '../wire/limits.js';
import type { PathProbe, PathReply } from '../wire/messages.js';

/** Where a path stands: not probed yet, probing, answering or failed. */
export type PathState = 'unknown' | 'probing' | 'validated' | 'failed';

/** One probed path: address, state, smoothed RTT and unanswered probes. */
export interface PathStats {
  addr: string;
  state: PathState;
  /** Smoothed RTT, ms; null until an answer. */
  rttMs: number | null;
  isRelay: boolean;
  /** When the last answer came (ms), or null. */
  lastSeen: number | null;
  /** Consecutive unanswered probes. */
  failures: number;
  /** Our address as the peer saw it on this path (PathReply.observedAddr). */
  observedAddr: string | null;
}

/** PathProber options: our contact, randomness and probe timing. */
export interface PathProberOptions {
  /** Our contact (PathProbe.from). */
  local: Contact;
  rng: Rng;
  /** Re-probe period of validated paths, ms. Default 5 s. */
  probeIntervalMs?: number;
  /** An unanswered probe counts as lost after this, ms. Default 1 s. */
  probeTimeoutMs?: number;
  /** Lost probes in a row before a path is failed. Default 3. */
  maxFailures?: number;
  /** Re-probe period of failed paths, ms. Default 30 s. */
  failedRetryMs?: number;
  /** Paths kept at most. Default 32. */
  maxPaths?: number;
}

interface Path extends PathStats {
  lastProbeAt: number | null;
}

interface Outstanding {
  path: Path;
  sentAt: number;
}

/** A PathProbe to send to an address. */
export interface ProbeToSend {
  addr: string;
  probe: PathProbe;
}

/** Sans-IO path probing: sends PathProbes to a peer's addresses and keeps each path's state and smoothed RTT. */
export class PathProber {
  private readonly paths = new Map<string, Path>();
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly o: Required<Omit<PathProberOptions, 'local' | 'rng'>>;

  constructor(
    initialAddr: string,
    isRelay: boolean,
    private readonly opts: PathProberOptions,
  ) {
    this.o = {
      probeIntervalMs: opts.probeIntervalMs ?? 5_000,
      probeTimeoutMs: opts.probeTimeoutMs ?? 1_000,
      maxFailures: opts.maxFailures ?? 3,
      failedRetryMs: opts.failedRetryMs ?? 30_000,
      maxPaths: opts.maxPaths ?? 32,
    };
    for (const [k, v] of Object.entries(this.o)) {
      if (!(v > 0)) throw new ConfigError(`PathProber.${k} must be > 0, got ${v}`);
    }
    this.addPath(initialAddr, isRelay);
  }

  /** Add the peer's direct addresses (e.g. EndpointRecord.addrs); known ones are kept as they are. */
  addDirectCandidates(addrs: readonly string[]): void {
    for (const a of addrs) this.addPath(a, false);
  }

  addRelayPath(addr: string): void {
    this.addPath(addr, true);
  }

  removePath(addr: string): void {
    this.paths.delete(addr);
    for (const [k, o] of this.outstanding) if (o.path.addr === addr) this.outstanding.delete(k);
  }

  private addPath(addr: string, isRelay: boolean): void {
    if (!isHostPort(addr)) throw new ConfigError(`PathProber: bad address ${JSON.stringify(addr)}`);
    if (this.paths.has(addr)) return;
    if (this.paths.size >= this.o.maxPaths) return;
    this.paths.set(addr, {
      addr,
      state: 'unknown',
      rttMs: null,
      isRelay,
      lastSeen: null,
      failures: 0,
      observedAddr: null,
      lastProbeAt: null,
    });
  }

  /** Expire lost probes, then a probe for every path that is due one. */
  generateProbes(now: number): ProbeToSend[] {
    this.expire(now);
    const out: ProbeToSend[] = [];
    const busy = new Set([...this.outstanding.values()].map((o) => o.path.addr));
    for (const p of this.paths.values()) {
      if (busy.has(p.addr) || !this.due(p, now)) continue;
      const nonce = this.opts.rng.bytes(16);
      this.outstanding.set(toHex(nonce), { path: p, sentAt: now });
      p.lastProbeAt = now;
      if (p.state === 'unknown') p.state = 'probing';
      out.push({ addr: p.addr, probe: { type: 'PathProbe', from: this.opts.local, nonce } });
    }
    return out;
  }

  private due(p: Path, now: number): boolean {
    if (p.lastProbeAt === null) return true;
    switch (p.state) {
      case 'unknown':
      case 'probing':
        return true; // the previous probe was lost: send another
      case 'validated':
        return now >= p.lastProbeAt + this.o.probeIntervalMs;
      case 'failed':
        return now >= p.lastProbeAt + this.o.failedRetryMs;
    }
  }

  private expire(now: number): void {
    for (const [k, o] of this.outstanding) {
      if (now < o.sentAt + this.o.probeTimeoutMs) continue;
      this.outstanding.delete(k);
      o.path.failures++;
      if (o.path.failures >= this.o.maxFailures) o.path.state = 'failed';
    }
  }

  /** A PathReply arrived (from `from`): the RTT sample in ms, or null for an unknown or late nonce. */
  onReply(reply: PathReply, from: string, now: number): number | null {
    void from; // matched by nonce: the reply may come back from a rebinding NAT's new port
    const key = toHex(reply.nonce);
    const o = this.outstanding.get(key);
    if (o === undefined) return null;
    this.outstanding.delete(key);
    const p = o.path;
    const sample = Math.max(0, now - o.sentAt);
    p.rttMs = p.rttMs === null ? sample : p.rttMs * 0.875 + sample * 0.125;
    p.state = 'validated';
    p.failures = 0;
    p.lastSeen = now;
    p.observedAddr = reply.observedAddr;
    return sample;
  }

  pathStats(): PathStats[] {
    return [...this.paths.values()].map(({ lastProbeAt: _l, ...s }) => ({ ...s }));
  }

  /** When generateProbes next has work (a probe timing out or a path due; 0 = now), or undefined. */
  nextAt(): number | undefined {
    let next = Infinity;
    for (const o of this.outstanding.values()) next = Math.min(next, o.sentAt + this.o.probeTimeoutMs);
    const busy = new Set([...this.outstanding.values()].map((o) => o.path.addr));
    for (const p of this.paths.values()) {
      if (busy.has(p.addr)) continue;
      if (p.lastProbeAt === null || p.state === 'unknown' || p.state === 'probing') return 0; // due now
      next = Math.min(next, p.lastProbeAt + (p.state === 'validated' ? this.o.probeIntervalMs : this.o.failedRetryMs));
    }
    return Number.isFinite(next) ? next : undefined;
  }
}
