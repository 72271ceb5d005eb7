/**
 * The UI's recent-events log: what changed between two polls of a node (up/down, restart, peers,
 * tiers, path upgrades and failures read from counter deltas), kept in a bounded ring so a lab left
 * open for hours holds a fixed amount of memory.
 */
import { ALL_PATHS, pathKindOf, type NodeView } from './node-view.js';

export type LabEventKind = 'up' | 'down' | 'stopped' | 'restart' | 'peers' | 'tiers' | 'path-upgrade' | 'path-failure';

export interface LabEvent {
  /** Increasing number, a stable React key. */
  seq: number;
  /** Clock time (ms). */
  at: number;
  node: string;
  kind: LabEventKind;
  text: string;
}

export class EventLog {
  private readonly ring: LabEvent[] = [];
  private seq = 0;

  constructor(readonly capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event log capacity must be ≥ 1, got ${capacity}`);
  }

  add(at: number, node: string, kind: LabEventKind, text: string): LabEvent {
    const ev = { seq: ++this.seq, at, node, kind, text };
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    return ev;
  }

  /** Oldest first. */
  list(): readonly LabEvent[] {
    return this.ring.slice();
  }
}

type Emit = (kind: LabEventKind, text: string) => void;

/** The events between two views of the same node (`prev` before this poll, `next` after it). */
export function diffNode(prev: NodeView, next: NodeView, emit: Emit): void {
  if (next.state === 'stopped') {
    if (prev.state !== 'stopped') emit('stopped', 'stopped by its lab');
    return;
  }
  if (next.state === 'down' && prev.state !== 'down') {
    emit('down', `down: ${next.lastError ?? 'no answer'}`);
    return;
  }
  if (next.state !== 'up') return;
  const was = prev.status;
  const now = next.status;
  if (prev.state !== 'up') emit('up', prev.state === 'pending' ? 'up' : prev.state === 'stopped' ? 'started again' : 'back up');
  if (!now) return;
  const restarted =
    was !== null &&
    ((was.nodeId !== '' && now.nodeId !== was.nodeId) ||
      (now.uptimeMs !== null && was.uptimeMs !== null && now.uptimeMs < was.uptimeMs));
  if (restarted) emit('restart', now.nodeId !== was.nodeId ? `restarted as ${now.nodeId.slice(0, 8)}` : 'restarted');
  if (was && !restarted && was.peers !== null && now.peers !== null && was.peers !== now.peers) {
    emit('peers', `peers ${was.peers} → ${now.peers}`);
  }
  const tiersBefore = was?.dht?.tierCounts.length ?? 0;
  const tiersNow = now.dht?.tierCounts.length ?? 0;
  if (was && tiersBefore !== tiersNow) emit('tiers', `tiers ${tiersBefore} → ${tiersNow}`);

  // Counter deltas: only against a previous scrape of the same process (a reset is not an event).
  const m0 = prev.metrics;
  const m1 = next.metrics;
  if (!m0 || !m1 || restarted) return;
  const times = (d: number): string => (d > 1 ? ` ×${d}` : '');
  for (const [kind, n] of Object.entries(m1.upgrades)) {
    const d = n - (m0.upgrades[kind] ?? 0);
    if (d > 0) emit('path-upgrade', `path upgraded${kind === ALL_PATHS ? '' : ` to ${kindText(kind)}`}${times(d)}`);
  }
  for (const [kind, n] of Object.entries(m1.failures)) {
    const d = n - (m0.failures[kind] ?? 0);
    if (d > 0) emit('path-failure', `${kind === ALL_PATHS ? '' : `${kindText(kind)} `}path failed${times(d)}`);
  }
}

function kindText(kind: string): string {
  return pathKindOf(kind)?.replace('_', '-') ?? kind;
}
