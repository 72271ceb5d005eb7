/**
 * The UI's data source. Components read a LabSnapshot from a LabStore and re-render when it
 * changes (React's useSyncExternalStore contract); they never fetch. LabPoller is the live store;
 * SnapshotStore is a plain settable one for tests and replays.
 */
import type { LabEvent } from './events.js';
import type { NodeView } from './node-view.js';

export interface LabSnapshot {
  /** Lab name shown in the header ("" when watching an ad-hoc --nodes list). */
  lab: string;
  nodes: readonly NodeView[];
  /** Recent events, oldest first. */
  events: readonly LabEvent[];
  /** Clock time this snapshot was taken. */
  now: number;
  /** Clock time the last complete poll finished, null before the first. */
  lastPollAt: number | null;
  intervalMs: number;
}

export interface LabStore {
  /** The current snapshot; the same object until something changes. */
  getSnapshot(): LabSnapshot;
  /** Call `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** Listener bookkeeping shared by the stores. */
export class Listeners {
  private readonly set = new Set<() => void>();

  add(listener: () => void): () => void {
    this.set.add(listener);
    return () => void this.set.delete(listener);
  }

  emit(): void {
    for (const l of [...this.set]) l();
  }

  get size(): number {
    return this.set.size;
  }
}

/** A store whose snapshot is set from outside. */
export class SnapshotStore implements LabStore {
  private readonly listeners = new Listeners();

  constructor(private snapshot: LabSnapshot) {}

  getSnapshot(): LabSnapshot {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  set(snapshot: LabSnapshot): void {
    this.snapshot = snapshot;
    this.listeners.emit();
  }

  /** Replace part of the snapshot. */
  update(patch: Partial<LabSnapshot>): void {
    this.set({ ...this.snapshot, ...patch });
  }
}
