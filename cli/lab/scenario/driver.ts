/**
 * The ScenarioDriver of a real lab: actions through the lab's Runtime (the same calls the fault verbs
 * make), probes and streams through the nodes' control endpoints — POST /connect with the peer's identity
 * (so a probe looks the peer's endpoint record up, then connects from it) and POST /stream on a connection
 * made first. A command node (node kinds, issue 14) is probed by its `probe:` command instead; it has no
 * stream endpoint.
 */
import type { Runtime } from '../../runtime/runtime.js';
import { formatMs } from '../../topology/scenario.js';
import { isCommandMember, type LabMember } from '../command-probe.js';
import type { MeshMember } from '../mesh-ready.js';
import type { ConnectFn } from '../run-expectations.js';
import { observationOf } from '../run-expectations.js';
import type { ActionOutcome, ProbeOutcome, ScenarioDriver, StreamOutcome } from './run.js';
import type { TimelineAction } from './timeline.js';

export interface LabDriverOptions {
  runtime: Pick<
    Runtime,
    | 'stopNode'
    | 'startNode'
    | 'restartNode'
    | 'setLink'
    | 'setLinkState'
    | 'partition'
    | 'heal'
    | 'resetNat'
    | 'moveHost'
  >;
  lab: string;
  /** The lab's nodes: quicmesh nodes as the mesh-ready wait found them (control URLs, NodeIds, identities), command nodes. */
  members: ReadonlyMap<string, LabMember>;
  readyTimeoutMs: number;
  /** How a command node's probe runs (its `probe:` command in the node); needed once a check starts at one. */
  commandProbe?: ConnectFn<LabMember>;
  fetchImpl?: typeof fetch;
}

const s = (ms: number): string => formatMs(Math.round(ms));

/** An error's message with its cause's (fetch says only "fetch failed"; the cause says ECONNRESET or which). */
export function errorWithCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return why && !err.message.includes(why) ? `${err.message} (${why})` : err.message;
}

async function postJson(
  fetchImpl: typeof fetch,
  url: string,
  body: unknown,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${String(data.error ?? '')}`);
  return data;
}

export function labDriver(opts: LabDriverOptions): ScenarioDriver {
  const { runtime, lab } = opts;
  const fetchImpl = opts.fetchImpl ?? fetch;
  const labMember = (name: string): LabMember => {
    const m = opts.members.get(name);
    if (!m) throw new Error(`node ${name} has no control endpoint known to the test`);
    return m;
  };
  const member = (name: string): MeshMember => {
    const m = labMember(name);
    if (isCommandMember(m)) throw new Error(`node ${name} runs kind ${m.node.program?.kind ?? 'command'}: it has no control endpoint`);
    return m;
  };
  const connectBody = (to: MeshMember, fresh: boolean, timeoutMs: number) => ({
    addr: to.dataAddr,
    nodeId: to.nodeId,
    ...(to.identity ? { identity: to.identity } : {}),
    fresh,
    timeoutMs,
  });

  const act = async (a: TimelineAction): Promise<ActionOutcome> => {
    switch (a.kind) {
      case 'stop':
      case 'start':
      case 'restart': {
        const results = await Promise.all(
          a.nodes.map((n) =>
            a.kind === 'stop'
              ? runtime.stopNode(lab, n)
              : a.kind === 'start'
                ? runtime.startNode(lab, n, { readyTimeoutMs: opts.readyTimeoutMs })
                : runtime.restartNode(lab, n, { readyTimeoutMs: opts.readyTimeoutMs }),
          ),
        );
        const ready = results.map((r) => r.readyMs).filter((x): x is number => x !== undefined);
        const summary =
          a.kind === 'stop'
            ? `stopped ${a.nodes.join(', ')}`
            : `${a.kind === 'start' ? 'started' : 'restarted'} ${a.nodes.join(', ')}: ready after ${ready.map(s).join(', ')}`;
        return { summary, detail: results };
      }
      case 'link-set': {
        const { kind: _kind, node, ...rest } = a;
        const r = await runtime.setLink(lab, { ...rest, ...(node ? { node } : {}) });
        return { summary: `${r.interfaces} interface(s) reshaped in ${s(r.ms)}`, detail: r };
      }
      case 'link-down':
      case 'link-up': {
        const r = await runtime.setLinkState(lab, a.network, a.node, a.kind === 'link-up');
        return { summary: `${r.ports} switch port(s) ${r.state}`, detail: r };
      }
      case 'partition': {
        const r = await runtime.partition(lab, a.sides[0], a.sides[1]);
        return { summary: `partition ${r.id}: drop rules in ${r.machines} machine(s)`, detail: r };
      }
      case 'heal': {
        const r = await runtime.heal(lab);
        return { summary: `${r.partitions} partition(s) healed`, detail: r };
      }
      case 'nat-reset': {
        const r = await runtime.resetNat(lab, a.router);
        return {
          summary: `${r.conntrack} conntrack entries and ${r.elements} NAT table elements forgotten in ${s(r.ms)}`,
          detail: r,
        };
      }
      case 'move': {
        const r = await runtime.moveHost(lab, a.node, a.network, a.address ? { address: a.address } : {});
        return {
          summary: `${r.from.network} ${r.from.address} → ${r.to.network} ${r.to.address} in ${s(r.ms)}`,
          detail: r,
        };
      }
    }
  };

  const probe = async (
    from: string,
    to: string,
    { timeoutMs, fresh }: { timeoutMs: number; fresh: boolean },
    signal: AbortSignal,
): Promise<ProbeOutcome> => {
    const from0 = labMember(from);
    if (isCommandMember(from0)) {
      if (!opts.commandProbe) throw new Error(`node ${from} runs a program and no probe runner was given`);
      const o = await opts.commandProbe(from0, labMember(to), { fresh, timeoutMs, signal });
      return { connected: o.connected, path: o.path, resolveMs: null, timeToConnectMs: o.timeToConnectMs, ...(o.error ? { error: o.error } : {}) };
    }
    const a = member(from);
    const b = member(to);
    let body: Record<string, unknown>;
    try {
      // the node's own deadline bounds the connect; the lookup before it has its own (DHT) timeouts
      body = await postJson(
        fetchImpl,
        a.connectUrl,
        connectBody(b, fresh, timeoutMs),
        timeoutMs + 15_000,
        signal,
      );
    } catch (err) {
      return {
        connected: false,
        path: null,
        resolveMs: null,
        timeToConnectMs: null,
        error: `control endpoint of ${from}: ${errorWithCause(err)}`,
      };
    }
    const o = observationOf(body);
    return {
      connected: o.connected,
      path: o.path,
      resolveMs: typeof body.resolveMs === 'number' ? Math.round(body.resolveMs * 10) / 10 : null,
      timeToConnectMs: o.timeToConnectMs,
      ...(o.error ? { error: o.error } : {}),
    };
  };

  const stream = async (
    from: string,
    to: string,
    durationMs: number,
    signal: AbortSignal,
  ): Promise<StreamOutcome> => {
    const a = member(from);
    const b = member(to);
    const fail = (error: string): StreamOutcome => ({
      intact: false,
      sentBytes: 0,
      peerBytes: null,
      maxGapMs: null,
      error,
    });
    // a connection first (from the record: lookup, dial, punch or relay); the stream then opens on it
    const conn: Record<string, unknown> = await postJson(
      fetchImpl,
      a.connectUrl,
      connectBody(b, false, 10_000),
      30_000,
      signal,
    ).catch((err: unknown) => ({ error: errorWithCause(err) }));
    if (conn.connected !== true)
      return fail(`no connection for the stream: ${String(conn.error ?? 'not connected')}`);
    const started = Date.now();
    let r: Record<string, unknown>;
    try {
      r = await postJson(
        fetchImpl,
        a.connectUrl.replace(/\/connect$/, '/stream'),
        { addr: b.dataAddr, nodeId: b.nodeId, durationMs: Math.max(1, durationMs - (Date.now() - started)) },
        durationMs + 30_000,
        signal,
      );
    } catch (err) {
      return fail(`control endpoint of ${from}: ${errorWithCause(err)}`);
    }
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return {
      intact: r.intact === true,
      sentBytes: num(r.sentBytes) ?? 0,
      peerBytes: num(r.peerBytes),
      maxGapMs: num(r.peerMaxGapMs),
      ...(typeof r.error === 'string' ? { error: r.error } : {}),
    };
  };

  return { act: (a) => act(a), probe, stream };
}
