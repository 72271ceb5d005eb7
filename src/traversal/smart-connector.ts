/**
 * SmartConnector (spec: smart_connect, ConnectionManager): connects to a peer from what its
 * endpoint record says — direct addresses and relays — as the driver of one SmartConnectPlan per
 * peer (kept by the ConnectionManager, which also keeps the path metrics). It carries out the
 * plan's effects and feeds their outcomes back:
 *
 *   dial          a QUIC dial to each direct address, first flight repeated (it doubles as a punch)
 *   punch         HolePunchStart at the rendezvous (a relay the peer is linked to); the moment it
 *                 answers, dial every candidate it names, and any peer-reflexive address the
 *                 ICE checks learn. Success = the first of those connections verified.
 *   relayConnect  a session through a relay and a QUIC connection over it (end-to-end encrypted;
 *                 the relay forwards packets it cannot read)
 *   relayClose    end a session we no longer need (after `releaseGraceMs`, so packets in flight
 *                 on the old path still arrive)
 *   probeDirect   an upgrade round while relayed: try to migrate to each direct address
 * While relayed, a punch that succeeds migrates the relayed connection to the punched address
 * (QUIC connection migration): open streams carry on and the relay session is released.
 *
 * Path labels state what happened, from evidence (path-label.ts): 'direct' when the peer's NAT let
 * our plain dial in unsolicited — it answered our pre-check (one ICE check sent beside each plain
 * dial), or our dial, before any check of its punch reached us; 'hole-punched' when it punched
 * toward us before it answered, or the dial went to an address only the punch taught us.
 */
import { bytesEqual, toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { NodeId } from '../core/types.js';
import type { ConnectionManager, PeerEffect, PeerStats } from '../connection/connection-manager.js';
import type { SmartConnection, SmartInput } from '../connection/smart-connection.js';
import type { PathStats } from '../connection/path-prober.js';
import { selectPath } from '../connection/path-select.js';
import { AbortError, TransportError, errorText } from '../errors.js';
import { connectDialMetrics, type ConnectDialMetrics } from './traversal-metrics.js';
import type { RelayEndpoint } from '../identity/endpoint-record.js';
import type { RelayClient } from '../nat/relay/relay-client.js';
import type { ConnectionChange, ConnectionControl } from '../transport/paths.js';
import type { Request, Response } from '../wire/messages.js';
import type { TraversalNode } from './host.js';
import { dialPath } from './path-label.js';
import { isPrivateAddr, type PunchDriver } from './punch-driver.js';
import type { RelayLink } from './relay-link.js';
import { RelayMemory } from './relay-memory.js';
import { awaitOutcome, failureText, MAX_REFLEXIVE_DIALS, newRun, type Run } from './smart-connector-run.js';

export * from './smart-connector-types.js';
import type { ConnectOptions, ConnectOutcome, ConnectPath, ConnectTarget, SmartConnectorOptions } from './smart-connector-types.js';

/** What a SmartConnector drives: the node, its connection control, the ConnectionManager, and the relay and punch services it may use. */
export interface SmartConnectorDeps {
  node: TraversalNode;
  transport: ConnectionControl;
  manager: ConnectionManager;
  relayLink?: RelayLink;
  punch?: PunchDriver;
  relayClient?: RelayClient;
  /** We are a relay serving `nodeId`: its connection to us carries its relay link (RelayService.serves). */
  servesAsRelay?: (nodeId: NodeId) => boolean;
  /** Our own direct candidates to announce in a punch (default: the node's contact address). */
  localCandidates?: () => string[];
}

/** Smart connections: dials, hole punch and relay in parallel; the first verified connection wins, relayed ones are upgraded. */
export class SmartConnector {
  private readonly runs = new Map<string, Run>();
  /** Peers whose last connect needed a relay: the next starts its relays at once (relay-memory.ts). */
  private readonly relayMemory = new RelayMemory();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private readonly mDials: ConnectDialMetrics;
  private readonly stopChanges: () => void;
  private readonly stopPunched: (() => void) | undefined;
  private readonly stopChecks: (() => void) | undefined;
  private readonly o: Required<SmartConnectorOptions>;

  constructor(
    private readonly deps: SmartConnectorDeps,
    opts: SmartConnectorOptions = {},
  ) {
    this.o = {
      repeatInitial: opts.repeatInitial ?? { intervalMs: 5, forMs: 1_500 },
      dialTimeoutMs: opts.dialTimeoutMs ?? 3_000,
      releaseGraceMs: opts.releaseGraceMs ?? 1_000,
      migrateTimeoutMs: opts.migrateTimeoutMs ?? 2_000,
      testPunchDelayMs: opts.testPunchDelayMs ?? 0,
    };
    this.mDials = connectDialMetrics(deps.node.components.metrics);
    this.stopChanges = deps.transport.onConnectionChange((c) => this.onChange(c));
    this.stopPunched = deps.punch?.onPunched((peer, r) => this.onPunched(peer, r.addr, r.rttMs));
    this.stopChecks = deps.punch?.onCheck((peer, at, from) => {
      const run = this.runs.get(toHex(peer));
      if (run === undefined) return;
      if (run.firstCheckAt === null) run.firstCheckAt = at;
      this.dialReflexive(run, from);
    });
  }

  private get now(): number {
    return this.deps.node.components.clock.now();
  }

  /**
   * Forget our run, plan and connections (handshakes too) with `nodeId` — not a relay link (ours
   * to our relay, or a client's to us): closing it would cut every relayed path and punch on it.
   */
  dropPeer(nodeId: NodeId): void {
    this.forget(toHex(nodeId), new TransportError('superseded by a fresh connect'));
    const relayLink = this.deps.relayLink?.isRelayPeer(nodeId) === true || this.deps.servesAsRelay?.(nodeId) === true;
    if (!relayLink) this.deps.transport.disconnect(nodeId);
  }

  /**
   * Connect to `target`: resolves with the path once a verified connection exists (direct,
   * hole-punched or relayed); a relayed connection keeps trying to upgrade afterwards. A second
   * connect to a peer being connected joins the first.
   */
  connect(target: ConnectTarget, opts: ConnectOptions = {}): Promise<ConnectOutcome> {
    // the time to connect counts from here: starting the dials and the punch takes time too
    const since = this.now;
    const key = toHex(target.nodeId);
    if (opts.fresh) this.dropPeer(target.nodeId);
    if (opts.signal?.aborted) return Promise.reject(new AbortError('connect aborted'));
    let run = this.runs.get(key);
    const plan = this.deps.manager.plan(target.nodeId);
    // already connected: this connect took no time (the connection's age is no time to connect)
    if (run !== undefined && plan?.phase === 'connected' && plan.connection !== null) {
      return Promise.resolve(this.outcome(plan.connection, this.now));
    }
    if (run === undefined || plan === undefined || plan.phase === 'failed' || plan.phase === 'idle') {
      this.forget(key, new TransportError('restarted'));
      run = newRun(target, opts, this.now);
      this.runs.set(key, run);
      const relays = this.deps.relayClient?.rankEndpoints(target.relays) ?? [...target.relays];
      // it needed a relay last time: its relays join the race at once (unless told how to connect)
      const relayNow = opts.relayFirst === undefined && relays.length > 0 && this.relayMemory.needsRelay(target.nodeId, target.addrs, this.now);
      // relay first: nothing to dial and no punch, so the plan goes to the relays at once
      const planTarget = opts.relayFirst
        ? { peerId: target.nodeId, addrs: [], relays, rendezvous: null }
        : {
            peerId: target.nodeId,
            addrs: [...target.addrs],
            relays,
            ...(target.behindNat !== undefined ? { behindNat: target.behindNat } : {}),
            ...(relayNow ? { relayNow } : {}),
          };
      const started = this.deps.manager.connect(planTarget, this.now);
      this.apply(run, started.effects);
    }
    const r = run;
    return awaitOutcome(r, since, opts, this.deps.node.components.clock, (err) => {
      // nobody waits for a connect that has not connected: stop it
      if (this.deps.manager.plan(r.target.nodeId)?.phase === 'connecting') this.forget(key, err);
    });
  }

  /**
   * A request to a connected peer over whatever path the connect found: the connection (every
   * request to the NodeId uses it), or the relay session's request tunnel where relay sessions do
   * not carry connections (transports without relayed paths).
   */
  async request(nodeId: NodeId, msg: Request, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Response> {
    const run = this.runs.get(toHex(nodeId));
    const conn = this.deps.manager.plan(nodeId)?.connection;
    if (run !== undefined && conn?.kind === 'Relayed') {
      const tunnel = run.tunnels.get(toHex(conn.sessionId));
      if (tunnel !== undefined && tunnel.path === undefined) return tunnel.request(msg, opts);
    }
    const addr = this.deps.transport.pathInfo(nodeId)?.addr ?? (conn?.kind === 'Direct' ? conn.addr : run?.target.addrs[0]);
    if (addr === undefined) throw new TransportError(`not connected to ${toHex(nodeId).slice(0, 8)}`);
    return (await this.deps.node.request({ addr, nodeId }, msg, opts)).msg;
  }

  /** An RTT sample on the peer's current path (quicmesh_path_rtt_seconds). */
  recordRtt(nodeId: NodeId, rttMs: number): void {
    this.deps.manager.recordRtt(nodeId, rttMs);
  }

  /** Path statistics per peer (state, RTT, upgrades, failures). */
  stats(): PeerStats[] {
    return this.deps.manager.allStats();
  }

  /** The open relay sessions under our connections (for status). */
  get relaySessions(): number {
    let n = 0;
    for (const r of this.runs.values()) n += r.tunnels.size;
    return n;
  }

  /**
   * After our own address changed (another network, a new NAT mapping): punch again toward every
   * connected peer through a rendezvous it is linked to, so both NATs open for the new address
   * and the side that opened each connection moves it there (or the peer sees a rebinding).
   * Returns how many punches were started.
   */
  refreshPaths(): number {
    if (this.deps.punch === undefined) return 0;
    let started = 0;
    const ourFirst = this.ourRelays()[0];
    for (const peer of this.deps.transport.connectedPeers()) {
      const rendezvous = this.runs.get(toHex(peer))?.target.relays[0] ?? ourFirst;
      const addr = rendezvous?.addrs[0];
      if (rendezvous === undefined || addr === undefined || bytesEqual(rendezvous.relayId, peer)) continue;
      started++;
      this.startPunch({ addr, nodeId: rendezvous.relayId }, peer).catch((err: unknown) => this.deps.node.components.logger.debug('path refresh punch failed', { error: errorText(err) }));
    }
    return started;
  }

  stop(): void {
    this.stopChanges();
    this.stopPunched?.();
    this.stopChecks?.();
    this.timer?.cancel();
    for (const key of [...this.runs.keys()]) this.forget(key, new TransportError('connector stopped'));
  }

  // --- effects ---------------------------------------------------------------------------------

  private apply(run: Run, effects: PeerEffect[]): void {
    // Dials behind a punch of the same batch start once its request to the rendezvous has left (its
    // flush is queued first): starting a dial (pre-check, ClientHello) takes 0.3-1 ms each, and the
    // request has the longest way to go. So does the pre-check of the dial whose Initial it carries.
    let punched = false;
    const afterPunch: string[] = [];
    const prechecksAfterPunch: string[] = [];
    const dialed = new Set<string>();
    for (const e of effects) {
      if (run.closed) return;
      switch (e.kind) {
        case 'dial':
          if (dialed.has(e.addr)) break;
          if (punched) afterPunch.push(e.addr);
          else this.dial(run, e.addr, 'dial');
          break;
        case 'cancelDials': {
          // after whoever waited for the connection ran: closing the losing dials is no part of connecting
          const losing = run.dials;
          run.dials = new AbortController();
          this.deps.node.components.clock.setTimer(0, () => losing.abort());
          break;
        }
        case 'punch':
          this.punch(run, e.rendezvous, this.forwardedInitial(run, effects, dialed, prechecksAfterPunch));
          punched = true;
          break;
        case 'relayConnect':
          this.relayConnect(run, e.relay, e.sessionId);
          break;
        case 'relayClose':
          this.release(run, toHex(e.sessionId), this.o.releaseGraceMs);
          break;
        case 'relayFailed':
          this.deps.relayClient?.markFailed(e.relay.relayId);
          break;
        case 'probeDirect':
          void this.probeDirect(run, e.addrs);
          break;
        case 'connected':
          if (e.connection.kind === 'Direct') this.relayMemory.forget(run.target.nodeId);
          // direct dials and the punch did not get through in time (a relayFirst connect tried neither)
          else if (!run.relayFirst) this.relayMemory.needed(run.target.nodeId, run.target.addrs, this.now);
          for (const w of [...run.waiters]) w.resolve(this.outcome(e.connection, w.since));
          if (e.connection.kind === 'Relayed' && run.upgradeAfterMs !== null) this.scheduleUpgrade(run, run.upgradeAfterMs);
          break;
        case 'upgraded':
          this.relayMemory.forget(run.target.nodeId);
          this.deps.node.components.logger.info('relayed connection upgraded to direct', {
            peer: toHex(run.target.nodeId).slice(0, 8),
            addr: e.to.kind === 'Direct' ? e.to.addr : '',
          });
          break;
        case 'failed':
          this.fail(run, new TransportError(failureText(e.reason, run)));
          break;
      }
    }
    if (afterPunch.length > 0 || prechecksAfterPunch.length > 0) {
      queueMicrotask(() => {
        if (run.closed || this.deps.manager.plan(run.target.nodeId)?.phase !== 'connecting') return;
        for (const addr of prechecksAfterPunch) this.precheck(run, addr);
        for (const addr of afterPunch) this.dial(run, addr, 'dial');
      });
    }
    this.arm();
  }

  private input(run: Run, ev: SmartInput): void {
    if (run.closed) return;
    this.apply(run, this.deps.manager.input(run.target.nodeId, ev, this.now));
  }

  /**
   * A dial to `addr`; `why`: a plain dial, or one to an address the punch named. A plain dial's
   * pre-check goes first, unless `precheckFirst` is false (the caller sends it later).
   */
  private dial(run: Run, addr: string, why: 'dial' | 'punch', precheckFirst = true): void {
    const signal = run.dials.signal;
    if (why === 'dial' && precheckFirst) this.precheck(run, addr);
    this.deps.transport
      .connect(
        { addr, nodeId: run.target.nodeId },
        { timeoutMs: this.o.dialTimeoutMs, signal, repeatInitial: this.o.repeatInitial },
      )
      .then(
        (peer) => {
          this.mDials.record(null, false);
          const path = dialPath({
            punchTaught: why === 'punch' && !run.target.addrs.includes(addr),
            firstHeardAt: peer.firstHeardAt,
            firstCheckAt: run.firstCheckAt,
            precheckAnsweredAt: run.precheckAnswers.get(addr) ?? null,
            punchAnsweredAt: run.punchAnsweredAt,
          });
          this.input(run, path === 'hole-punched' ? { kind: 'punchSucceeded', addr } : { kind: 'dialSucceeded', addr });
        },
        (err: unknown) => {
          this.mDials.record(err, signal.aborted);
          if (signal.aborted || why !== 'dial') return;
          run.lastDialError = `${addr}: ${errorText(err)}`;
          this.input(run, { kind: 'dialFailed', addr });
        },
      );
  }

  /**
   * The pre-check beside a plain dial to `addr`, sent before the dial's first flight where nothing
   * more urgent waits: its answer shows the peer's NAT let us in unsolicited (path-label.ts). Not
   * asked of a peer whose record says it has no NAT: its dial is direct anyway.
   */
  private precheck(run: Run, addr: string): void {
    if (run.punchAnsweredAt !== null || run.target.behindNat === false) return;
    this.deps.punch?.precheck(addr, (at) => {
      if (!run.precheckAnswers.has(addr)) run.precheckAnswers.set(addr, at);
    });
  }

  /**
   * A check from the peer came from `from`, an address its record and the rendezvous did not name (a
   * symmetric NAT's fresh port, say): its NAT now lets our packets in from there, so dial it at once
   * rather than after our own check's round trip has proved the pair. The QUIC handshake checks the
   * peer's identity, so a forged check costs one dial at most; dials per connect are bounded.
   */
  private dialReflexive(run: Run, from: string): void {
    if (run.closed || run.target.addrs.includes(from) || run.reflexiveDials.has(from)) return;
    if (run.reflexiveDials.size >= MAX_REFLEXIVE_DIALS) return;
    const plan = this.deps.manager.plan(run.target.nodeId);
    if (plan?.phase !== 'connecting' || plan.connection !== null) return;
    run.reflexiveDials.add(from);
    this.dial(run, from, 'punch');
  }

  /**
   * Before a punch: the first flight of our dial to the peer's first public address, dialled now if
   * this batch dials it, to ride in the punch's request (HolePunchStart.initial). The peer answers
   * that Initial the moment the rendezvous's message reaches it, from behind the NAT it opens by
   * answering: we hear the handshake a round trip sooner than if our next Initial had to get in
   * first. Undefined: nothing to forward (no such dial, or it heard from the peer already). A dial
   * started here leaves its pre-check to the caller (`prechecksLater`: sent after the request).
   */
  private forwardedInitial(run: Run, effects: PeerEffect[], dialed: Set<string>, prechecksLater: string[]): Uint8Array | undefined {
    const transport = this.deps.transport;
    if (transport.forwardFirstFlight === undefined || this.deps.manager.plan(run.target.nodeId)?.connection != null) return undefined;
    const batch = effects.flatMap((e) => (e.kind === 'dial' ? [e.addr] : []));
    const addr = [...batch, ...run.target.addrs].find((a) => !isPrivateAddr(a));
    if (addr === undefined) return undefined;
    if (batch.includes(addr) && !dialed.has(addr)) {
      dialed.add(addr);
      this.dial(run, addr, 'dial', false);
      prechecksLater.push(addr);
    }
    return transport.forwardFirstFlight(addr);
  }

  private punch(run: Run, rendezvous: { id: NodeId; addr: string }, initial?: Uint8Array): void {
    if (this.deps.punch === undefined) return this.input(run, { kind: 'punchFailed', reason: 'no hole punching here' });
    // TEST ONLY: a known slowdown for the lab's regression tests
    if (this.o.testPunchDelayMs > 0) {
      this.deps.node.components.clock.setTimer(this.o.testPunchDelayMs, () => {
        if (!run.closed) this.punchNow(run, rendezvous, initial);
      });
      return;
    }
    this.punchNow(run, rendezvous, initial);
  }

  private punchNow(run: Run, rendezvous: { id: NodeId; addr: string }, initial?: Uint8Array): void {
    const upgrading = this.deps.manager.plan(run.target.nodeId)?.connection?.kind === 'Relayed';
    this.startPunch({ addr: rendezvous.addr, nodeId: rendezvous.id }, run.target.nodeId, upgrading ? undefined : initial)
      .then(({ ready, result }) => {
        if (run.closed) return;
        run.punchAnsweredAt = this.now;
        if (!upgrading) for (const addr of ready.peerAddrs) this.dial(run, addr, 'punch');
        return result.then(
          (r) => {
            if (run.closed) return;
            // relayed: onPunched migrates the connection. Otherwise the path is proven both ways now:
            // dial it (again, if an early dial died at the peer's NAT; on QUIC a dial still in flight
            // to that address is simply reused).
            const conn = this.deps.manager.plan(run.target.nodeId)?.connection;
            if (conn === null || conn === undefined) this.dial(run, r.addr, 'punch');
          },
          (err: unknown) => this.input(run, { kind: 'punchFailed', reason: String(err) }),
        );
      })
      .catch((err: unknown) => this.input(run, { kind: 'punchFailed', reason: String(err) }));
  }

  /** Ask `rendezvous` to coordinate a punch with `peer`, announcing our direct candidates. */
  private startPunch(rendezvous: { addr: string; nodeId: NodeId }, peer: NodeId, initial?: Uint8Array): ReturnType<PunchDriver['start']> {
    const addrs = this.deps.localCandidates?.();
    return this.deps.punch!.start(rendezvous, peer, { timeoutMs: this.o.dialTimeoutMs, ...(addrs ? { addrs } : {}), ...(initial ? { initial } : {}) });
  }

  /**
   * A punch with `peer` succeeded (ours, or one the peer started through a rendezvous): when we
   * opened the connection to it and that connection is elsewhere (on a relay, or at the peer's
   * old address), move it onto the punched path. A relayed connection of ours so becomes direct
   * (the plan then releases the relay) — unless the relay is more than RELAY_PREFERENCE_MARGIN_MS
   * faster (the spec's path selection, `selectPath`); a peer that moved is followed.
   */
  private onPunched(peer: NodeId, addr: string, directRttMs: number): void {
    this.relayMemory.forget(peer); // a direct path works now
    const info = this.deps.transport.pathInfo(peer);
    if (info === undefined || !info.opener || info.addr === addr) return;
    const run = this.runs.get(toHex(peer));
    const relayed = (): boolean => run !== undefined && this.deps.manager.plan(peer)?.connection?.kind === 'Relayed';
    if (info.relayed && info.rttMs !== null && Number.isFinite(directRttMs)) {
      const path = (a: string, rttMs: number, isRelay: boolean): PathStats => ({
        addr: a,
        state: 'validated',
        rttMs,
        isRelay,
        lastSeen: null,
        failures: 0,
        observedAddr: null,
      });
      const best = selectPath([path(info.addr, info.rttMs, true), path(addr, directRttMs, false)], { current: info.addr });
      if (best?.isRelay) {
        this.deps.node.components.logger.debug('staying on the relay: it is faster', { relayMs: info.rttMs, directMs: directRttMs });
        return;
      }
    }
    this.deps.transport.migrate(peer, addr, { timeoutMs: this.o.migrateTimeoutMs }).then(
      () => {
        if (run !== undefined && relayed()) this.input(run, { kind: 'punchSucceeded', addr });
      },
      (err: unknown) => {
        this.deps.node.components.logger.debug('migration to punched path failed', { addr, error: errorText(err) });
        if (run !== undefined && relayed()) this.input(run, { kind: 'punchFailed', reason: `migration failed: ${errorText(err)}` });
      },
    );
  }

  /** relayFirst: try to upgrade the relayed connection `afterMs` from now (a punch; onPunched migrates). */
  private scheduleUpgrade(run: Run, afterMs: number): void {
    run.upgradeAfterMs = null;
    const rendezvous = run.target.relays[0];
    const addr = rendezvous?.addrs[0];
    if (rendezvous === undefined || addr === undefined) return;
    const go = (): void => {
      if (!run.closed) this.punch(run, { id: rendezvous.relayId, addr });
    };
    if (afterMs <= 0) go();
    else this.deps.node.components.clock.setTimer(afterMs, go);
  }

  private ourRelays(): RelayEndpoint[] {
    return this.deps.relayLink?.reachableEndpoints() ?? [];
  }

  private async probeDirect(run: Run, addrs: string[]): Promise<void> {
    for (const addr of addrs) {
      if (run.closed) return;
      try {
        await this.deps.transport.migrate(run.target.nodeId, addr, { timeoutMs: this.o.migrateTimeoutMs });
        return this.input(run, { kind: 'pathValidated', addr });
      } catch {
        // not reachable directly (yet): the next address, or the next round
      }
    }
  }

  private relayConnect(run: Run, relay: RelayEndpoint, sessionId: Uint8Array): void {
    const link = this.deps.relayLink;
    const relayAddr = relay.addrs[0];
    if (link === undefined || relayAddr === undefined) {
      return this.input(run, { kind: 'relayFailed', sessionId, reason: link === undefined ? 'no relay link' : 'relay has no address' });
    }
    const key = toHex(sessionId);
    link
      .openThrough({ addr: relayAddr, nodeId: relay.relayId }, run.target.nodeId, {
        sessionId,
        onAccepted: () => this.input(run, { kind: 'relayAccepted', sessionId }),
      })
      .then((tunnel) => {
        if (run.closed) return void tunnel.close();
        run.tunnels.set(key, tunnel);
        return link.carriesConnections ? link.connectOver(tunnel) : tunnel;
      })
      .then(
        (tunnel) => {
          if (tunnel === undefined) return;
          this.deps.relayClient?.markSucceeded(relay.relayId);
          this.input(run, { kind: 'relayConnected', sessionId });
        },
        (err: unknown) => {
          run.tunnels.delete(key);
          run.lastRelayError = errorText(err);
          this.input(run, { kind: 'relayFailed', sessionId, reason: String(err) });
        },
      );
  }

  /** Close one relay session of `run` after `afterMs`. */
  private release(run: Run, key: string, afterMs: number): void {
    const tunnel = run.tunnels.get(key);
    if (tunnel === undefined) return;
    const close = (): void => {
      if (run.tunnels.get(key) === tunnel) run.tunnels.delete(key);
      void tunnel.close();
    };
    if (afterMs <= 0) close();
    else this.deps.node.components.clock.setTimer(afterMs, close);
  }

  // --- bookkeeping -----------------------------------------------------------------------------

  private outcome(connection: SmartConnection, since: number): ConnectOutcome {
    const path: ConnectPath = connection.kind === 'Direct' ? connection.via : 'relayed';
    return { connection, path, timeToConnectMs: this.now - since };
  }

  private fail(run: Run, err: Error): void {
    for (const w of [...run.waiters]) w.reject(err);
    run.dials.abort();
  }

  /** Drop a peer's run: plan, dials, relay sessions (its connections stay; see dropPeer). */
  private forget(key: string, reason: Error): void {
    const run = this.runs.get(key);
    if (run !== undefined) {
      run.closed = true;
      this.runs.delete(key);
      run.dials.abort();
      for (const w of [...run.waiters]) w.reject(reason);
      for (const t of run.tunnels.values()) void t.close();
      run.tunnels.clear();
      this.deps.manager.remove(run.target.nodeId);
    }
  }

  /**
   * A connection went away: a peer we connected to is Idle again (its relay sessions closed),
   * unless another connection to it is left or it is reached through a request tunnel.
   */
  private onChange(c: ConnectionChange): void {
    if (c.kind !== 'closed') return;
    const key = toHex(c.nodeId);
    const run = this.runs.get(key);
    if (run === undefined || this.deps.transport.pathInfo(c.nodeId) !== undefined) return;
    const plan = this.deps.manager.plan(c.nodeId);
    if (plan?.phase !== 'connected') return;
    const conn = plan.connection;
    if (conn?.kind === 'Relayed' && run.tunnels.get(toHex(conn.sessionId))?.path === undefined) return;
    this.forget(key, new TransportError('connection closed'));
  }

  /** One timer at the manager's next deadline. */
  private arm(): void {
    const at = this.deps.manager.nextAt();
    if (at === undefined) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.deps.node.components.clock.setTimer(Math.max(0, at - this.now), () => {
      this.timer = undefined;
      this.timerAt = Infinity;
      for (const e of this.deps.manager.tick(this.now)) {
        const run = this.runs.get(toHex(e.peer));
        if (run !== undefined) this.apply(run, [e]);
      }
      this.arm();
    });
  }
}
