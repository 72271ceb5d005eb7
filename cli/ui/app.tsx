/**
 * The live lab UI: header, node table, optional detail pane, events log and help line, all read
 * from a LabStore. The selection is kept by node name, so it stays on the same node while the
 * table updates or is filtered. Keys: ↑/↓ or j/k move, PgUp/PgDn jump, Enter/→ toggle details,
 * ← close them, / filter by name (Esc clears), q or Ctrl-C quit.
 */
import { Box, useApp, useInput, useStdout, type Key } from 'ink';
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { Clock } from '../../src/core/clock.js';
import { EventsLog, Header, HelpLine } from './chrome.js';
import { DetailPane, detailHeight } from './detail-pane.js';
import type { NodeView } from './node-view.js';
import { NodeTable } from './node-table.js';
import type { LabStore } from './store.js';

export interface UiState {
  /** Name of the selected node, null before the first move (the first row is shown selected). */
  selected: string | null;
  detail: boolean;
  filter: string;
  /** Typing a filter. */
  filtering: boolean;
}

export const INITIAL_UI: UiState = { selected: null, detail: false, filter: '', filtering: false };

export function visibleNodes(nodes: readonly NodeView[], filter: string): NodeView[] {
  const f = filter.toLowerCase();
  return f ? nodes.filter((n) => n.target.name.toLowerCase().includes(f)) : [...nodes];
}

/** Index of the selection among `visible` (0 when the selected node is filtered out or unset). */
export function selectedIndex(visible: readonly NodeView[], selected: string | null): number {
  if (visible.length === 0) return -1;
  const i = selected === null ? -1 : visible.findIndex((n) => n.target.name === selected);
  return i < 0 ? 0 : i;
}

/** The UI state after one key press; `quit` when the user asked to leave. */
export function reduceKey(
  ui: UiState,
  input: string,
  key: Key,
  nodes: readonly NodeView[],
  page: number,
): { ui: UiState; quit: boolean } {
  const r = reduceKeyRaw(ui, input, key, nodes, page);
  if (r.quit || r.ui.filter === ui.filter) return r;
  // The filter changed: pin the selection to the row now shown selected, so clearing the
  // filter later keeps it there.
  const shown = visibleNodes(nodes, r.ui.filter);
  const i = selectedIndex(shown, r.ui.selected);
  return i < 0 ? r : { ui: { ...r.ui, selected: shown[i]!.target.name }, quit: false };
}

function reduceKeyRaw(
  ui: UiState,
  input: string,
  key: Key,
  nodes: readonly NodeView[],
  page: number,
): { ui: UiState; quit: boolean } {
  if (key.ctrl && input === 'c') return { ui, quit: true };
  const visible = visibleNodes(nodes, ui.filter);
  const move = (delta: number): UiState => {
    if (visible.length === 0) return ui;
    const i = Math.max(0, Math.min(visible.length - 1, selectedIndex(visible, ui.selected) + delta));
    return { ...ui, selected: visible[i]!.target.name };
  };
  const arrows = (): UiState | null => {
    if (key.upArrow) return move(-1);
    if (key.downArrow) return move(1);
    if (key.pageUp) return move(-page);
    if (key.pageDown) return move(page);
    return null;
  };
  const done = (next: UiState) => ({ ui: next, quit: false });

  if (ui.filtering) {
    if (key.escape) return done({ ...ui, filter: '', filtering: false });
    if (key.return) return done({ ...ui, filtering: false });
    if (key.backspace || key.delete) return done({ ...ui, filter: ui.filter.slice(0, -1) });
    const moved = arrows();
    if (moved) return done(moved);
    if (input && !key.ctrl && !key.meta && !key.tab && /^[\x20-\x7e]+$/.test(input)) {
      return done({ ...ui, filter: ui.filter + input });
    }
    return done(ui);
  }
  if (input === 'q') return { ui, quit: true };
  const moved = arrows();
  if (moved) return done(moved);
  if (input === 'k') return done(move(-1));
  if (input === 'j') return done(move(1));
  if (key.return || key.rightArrow) return done({ ...ui, detail: !ui.detail });
  if (key.leftArrow) return done({ ...ui, detail: false });
  if (input === '/') return done({ ...ui, filtering: true });
  if (key.escape) return done(ui.filter ? { ...ui, filter: '' } : { ...ui, detail: false });
  return done(ui);
}

/**
 * Split a chunk of typed text ("jj", a paste) into single key presses, so each moves once; special
 * keys and text typed into the filter stay whole.
 */
export function keyPresses(input: string, key: Key, filtering: boolean): Array<[string, Key]> {
  const plain = !key.ctrl && !key.meta && input.length > 1 && /^[\x20-\x7e]+$/.test(input);
  if (!plain || filtering) return [[input, key]];
  return [...input].map((ch) => [ch, key]);
}

/** Re-render every `ms` with the clock's time (for the refresh age); the snapshot's time without a clock. */
function useNow(clock: Clock | undefined, fallback: number, ms = 1000): number {
  const [now, setNow] = useState(() => clock?.now() ?? fallback);
  useEffect(() => {
    if (!clock) return;
    let timer = clock.setTimer(ms, function tick() {
      setNow(clock.now());
      timer = clock.setTimer(ms, tick);
    });
    return () => timer.cancel();
  }, [clock, ms]);
  return clock ? Math.max(now, fallback) : fallback;
}

export interface AppProps {
  store: LabStore;
  /** Drives the refresh-age display; without it the age is as of the last snapshot. */
  clock?: Clock;
  /** Called once when the user quits (after Ink's exit). */
  onQuit?: () => void;
  /** Table rows to draw (default: what fits the terminal). */
  maxRows?: number;
  /** Lines of the events log (default 6). */
  eventLines?: number;
}

export function App({ store, clock, onQuit, maxRows, eventLines = 6 }: AppProps) {
  const [subscribe, getSnapshot] = useMemo(() => [store.subscribe.bind(store), store.getSnapshot.bind(store)], [store]);
  const snap = useSyncExternalStore(subscribe, getSnapshot);
  const [ui, setUi] = useState<UiState>(INITIAL_UI);
  const { exit } = useApp();
  const { stdout } = useStdout();
  const now = useNow(clock, snap.now);

  const visible = visibleNodes(snap.nodes, ui.filter);
  const index = selectedIndex(visible, ui.selected);
  const current = index >= 0 ? visible[index] : undefined;
  const terminalRows = stdout.rows ?? 40;
  const detailLines = ui.detail && current ? detailHeight(current) : 0;
  // Keep the frame shorter than the terminal: Ink clears the whole screen for taller output.
  const rows = maxRows ?? Math.max(3, terminalRows - detailLines - eventLines - 6);

  // Keys can arrive faster than React re-renders: fold them into the latest state, not the rendered one.
  const latest = useRef(ui);
  useInput((input, key) => {
    let next = latest.current;
    for (const [chunk, k] of keyPresses(input, key, next.filtering)) {
      const r = reduceKey(next, chunk, k, snap.nodes, rows);
      if (r.quit) {
        exit();
        onQuit?.();
        return;
      }
      next = r.ui;
    }
    latest.current = next;
    setUi(next);
  });

  const up = snap.nodes.filter((n) => n.state === 'up').length;
  // One column short of the terminal: a line that fills the last column leaves the cursor in the
  // wrap-pending state and Ink's erase of the previous frame then misses a line, leaving debris.
  const width = Math.max(40, (stdout.columns ?? 80) - 1);
  return (
    <Box flexDirection="column" width={width}>
      <Header
        lab={snap.lab}
        up={up}
        total={snap.nodes.length}
        ageMs={snap.lastPollAt === null ? null : Math.max(0, now - snap.lastPollAt)}
        intervalMs={snap.intervalMs}
        filter={ui.filter}
        shown={visible.length}
      />
      <NodeTable nodes={visible} selected={index} maxRows={rows} />
      {ui.detail && current ? <DetailPane view={current} now={now} /> : null}
      <EventsLog events={snap.events} lines={eventLines} />
      <HelpLine filtering={ui.filtering} filter={ui.filter} />
    </Box>
  );
}
