import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { App } from '../../cli/ui/app.js';
import { EventLog } from '../../cli/ui/events.js';
import type { NodeTarget, NodeView } from '../../cli/ui/node-view.js';
import { SnapshotStore, type LabSnapshot } from '../../cli/ui/store.js';
import { turnsUntil } from '../support/poll.js';
import { downView, upView } from './ui-fixtures.js';

const KEY = { up: '\u001B[A', down: '\u001B[B', right: '\u001B[C', enter: '\r', esc: '\u001B', backspace: '\u007F' };

const T = (name: string, network: string, nat: string): NodeTarget => ({ name, baseUrl: `http://172.31.1.9:9464/${name}`, network, nat });
const alpha = T('alpha', 'lan1', 'symmetric');
const bravo = T('bravo', 'lan2', 'full-cone');
const charlie = T('charlie', 'wan', 'public');

function nodes(): NodeView[] {
  return [
    upView(alpha, { nodeId: 'a1'.repeat(32), peers: 4, centroids: [4, 40], counts: [3, 1], pressure: 0.5, storedKeys: 12, k: 16, alpha: 4 }, { paths: { direct: 2, hole_punched: 1, relayed: 0 }, rtt: { direct: { sum: 0.05, count: 10 } } }),
    upView(bravo, { nodeId: 'b2'.repeat(32), peers: 2, served: { FindValue: 42 } }),
    downView(charlie, '/status: connect ECONNREFUSED 172.31.1.4:9464'),
  ];
}

function snapshot(over: Partial<LabSnapshot> = {}): LabSnapshot {
  return { lab: 'demo', nodes: nodes(), events: [], now: 5000, lastPollAt: 5000, intervalMs: 1000, ...over };
}

const strip = (s: string): string => s.replace(/\u001B\[[0-9;]*m/g, '');

type Rendered = ReturnType<typeof render>;

/** Let Ink process input and React commit (both run on promise jobs and immediates, no timers). */
function frameWhere(r: Rendered, pred: (frame: string) => boolean): Promise<string> {
  const frame = (): string => strip(r.lastFrame() ?? '');
  return turnsUntil('a matching frame', () => {
    if (pred(frame())) return frame();
    throw new Error(`last frame:\n${frame()}`);
  });
}

async function press(r: Rendered, key: string, until: (frame: string) => boolean): Promise<string> {
  r.stdin.write(key);
  return frameWhere(r, until);
}

function rowOf(frame: string, name: string): string {
  const line = frame.split('\n').find((l) => l.slice(2).startsWith(name));
  if (!line) throw new Error(`no row for ${name} in\n${frame}`);
  return line;
}

afterEach(() => cleanup());

describe('live UI', () => {
  it('draws the header, one row per node and a down node as down', async () => {
    const r = render(<App store={new SnapshotStore(snapshot())} />);
    const frame = await frameWhere(r, (f) => f.includes('charlie'));
    expect(frame).toContain('quicmesh · lab demo · 2/3 up · refreshed 0s ago · every 1s');
    expect(frame).toMatch(/NODE\s+NETWORK\s+NAT\s+TIERS\s+PEERS\s+PRESS\s+D\/H\/R\s+STATE/);
    expect(rowOf(frame, 'alpha')).toMatch(/^> alpha\s+lan1\s+symmetric\s+2\s+4\s+50%\s+2\/1\/0\s+up/);
    expect(rowOf(frame, 'bravo')).toMatch(/^ {2}bravo\s+lan2\s+full-cone\s+2\s+2\s+25%\s+–\s+up/);
    expect(rowOf(frame, 'charlie')).toMatch(/^ {2}charlie\s+wan\s+public\s+–\s+–\s+–\s+–\s+down/);
    expect(frame).toContain('↑/↓ j/k move');
  });

  it('moves the selection with arrows and j/k, clamped at both ends', async () => {
    const r = render(<App store={new SnapshotStore(snapshot())} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    await press(r, 'j', (f) => f.includes('> bravo'));
    await press(r, KEY.down, (f) => f.includes('> charlie'));
    await press(r, 'j', (f) => f.includes('> charlie'));
    await press(r, KEY.up, (f) => f.includes('> bravo'));
    const frame = await press(r, 'k', (f) => f.includes('> alpha'));
    expect(frame.match(/^> /gm)).toHaveLength(1);
  });

  it('toggles the detail pane of the selected node with Enter and →', async () => {
    const r = render(<App store={new SnapshotStore(snapshot())} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    const detail = await press(r, KEY.enter, (f) => f.includes('NodeId'));
    expect(detail).toContain('a1'.repeat(32));
    expect(detail).toMatch(/k 16 · α 4 · routing table 5 · stored keys 12 · pressure 50%/);
    expect(detail).toMatch(/#0 4\.0ms ×3\s+#1 40ms ×1/);
    expect(detail).toMatch(/direct 2 · hole-punched 1 · relayed 0 · rtt direct 5\.0ms/);
    expect(detail).toMatch(/FindNode\s+10\s+0\s+6\s+0/);
    await press(r, KEY.enter, (f) => !f.includes('NodeId'));
    await press(r, 'j', (f) => f.includes('> bravo'));
    const bravoDetail = await press(r, KEY.right, (f) => f.includes('NodeId'));
    expect(bravoDetail).toContain('b2'.repeat(32));
    expect(bravoDetail).toMatch(/FindValue\s+42/);
  });

  it('shows the last error of a down node in its detail pane', async () => {
    const r = render(<App store={new SnapshotStore(snapshot())} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    await press(r, 'jj', (f) => f.includes('> charlie'));
    const frame = await press(r, KEY.enter, (f) => f.includes('NodeId'));
    expect(frame).toMatch(/charlie down \(never answered\)/);
    expect(frame).toMatch(/error\s+\/status: connect ECONNREFUSED 172\.31\.1\.4:9464/);
  });

  it('filters by name as you type; Esc clears the filter', async () => {
    const r = render(<App store={new SnapshotStore(snapshot())} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    await press(r, '/', (f) => f.includes('filter: '));
    await press(r, 'b', (f) => f.includes('filter "b"'));
    let frame = await press(r, 'r', (f) => f.includes('filter "br" (1 shown)'));
    expect(frame).toContain('> bravo');
    expect(frame).not.toContain('alpha');
    expect(frame).not.toContain('charlie');
    frame = await press(r, KEY.backspace, (f) => f.includes('filter "b" (1 shown)'));
    frame = await press(r, KEY.enter, (f) => f.includes('↑/↓ j/k move'));
    expect(frame).toContain('filter "b"');
    frame = await press(r, KEY.esc, (f) => !f.includes('filter "'));
    expect(frame).toContain('alpha');
    expect(frame).toContain('charlie');
    expect(frame).toContain('> bravo');
  });

  it('typing q in the filter is text, not quit; Esc while typing clears it', async () => {
    let quits = 0;
    const r = render(<App store={new SnapshotStore(snapshot())} onQuit={() => quits++} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    await press(r, '/', (f) => f.includes('filter: '));
    await press(r, 'q', (f) => f.includes('filter "q" (0 shown)'));
    expect(quits).toBe(0);
    expect(await frameWhere(r, (f) => f.includes('(no nodes match)'))).toContain('(no nodes match)');
    const frame = await press(r, KEY.esc, (f) => !f.includes('filter "'));
    expect(frame).toContain('charlie');
    expect(frame).toContain('↑/↓ j/k move');
  });

  it('follows the store: new events are appended and a node going down is shown down', async () => {
    const store = new SnapshotStore(snapshot());
    const r = render(<App store={store} eventLines={3} />);
    await frameWhere(r, (f) => f.includes('events'));
    const log = new EventLog();
    log.add(6000, 'alpha', 'path-upgrade', 'path upgraded to direct');
    store.update({ events: log.list() });
    let frame = await frameWhere(r, (f) => f.includes('path upgraded to direct'));
    expect(frame).toMatch(/\d\d:\d\d:\d\d alpha\s+path upgraded to direct/);
    log.add(7000, 'bravo', 'down', 'down: /status: no answer within 900 ms');
    const next = nodes();
    next[1] = downView(bravo, '/status: no answer within 900 ms');
    store.update({ events: log.list(), nodes: next });
    frame = await frameWhere(r, (f) => f.includes('bravo') && f.includes('no answer within 900 ms'));
    expect(rowOf(frame, 'bravo')).toMatch(/down$/);
    expect(frame).toContain('1/3 up');
    const lines = frame.split('\n');
    const first = lines.findIndex((l) => l.includes('path upgraded to direct'));
    expect(lines[first + 1]).toMatch(/bravo\s+down: \/status: no answer within 900 ms/);
  });

  it('keeps the selection on the same node when the table changes', async () => {
    const store = new SnapshotStore(snapshot());
    const r = render(<App store={store} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    await press(r, 'j', (f) => f.includes('> bravo'));
    const [a, b, c] = nodes();
    store.update({ nodes: [c!, a!, b!] });
    const frame = await frameWhere(r, (f) => f.split('\n').some((l) => l.startsWith('  charlie')));
    expect(frame).toContain('> bravo');
  });

  it('draws a window of rows around the selection in a small table', async () => {
    const many = Array.from({ length: 10 }, (_, i) => upView(T(`n${i}`, 'lan', 'public')));
    const r = render(<App store={new SnapshotStore(snapshot({ nodes: many }))} maxRows={4} />);
    let frame = await frameWhere(r, (f) => f.includes('1-4/10'));
    expect(frame).toContain('> n0');
    expect(frame).not.toContain('n4 ');
    for (let i = 0; i < 6; i++) r.stdin.write('j');
    frame = await frameWhere(r, (f) => f.includes('> n6'));
    expect(frame).toContain('5-8/10');
    expect(frame).not.toContain('n3 ');
  });

  it('ages the refresh time with the injected clock', async () => {
    const clock = new ManualClock(5000);
    const r = render(<App store={new SnapshotStore(snapshot())} clock={clock} />);
    await frameWhere(r, (f) => f.includes('refreshed 0s ago'));
    clock.advance(3000);
    await frameWhere(r, (f) => f.includes('refreshed 3s ago'));
  });

  it('quits on q and on Ctrl-C', async () => {
    let quits = 0;
    const r = render(<App store={new SnapshotStore(snapshot())} onQuit={() => quits++} />);
    await frameWhere(r, (f) => f.includes('> alpha'));
    r.stdin.write('q');
    await frameWhere(r, () => quits === 1);
    const r2 = render(<App store={new SnapshotStore(snapshot())} onQuit={() => quits++} />);
    await frameWhere(r2, (f) => f.includes('> alpha'));
    r2.stdin.write('\u0003');
    await frameWhere(r2, () => quits === 2);
    expect(quits).toBe(2);
  });
});
