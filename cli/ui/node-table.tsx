/**
 * The node table: one fixed-width row per node (name, network, NAT preset, DHT tiers, peers,
 * storage pressure, open paths direct/hole-punched/relayed, state). Only a window of rows around the
 * selection is drawn, so a lab of hundreds of nodes fits the terminal without the layout moving.
 */
import { Box, Text } from 'ink';
import { DASH, cell, formatCount, formatRatio } from './format.js';
import type { NodeView } from './node-view.js';

interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
  value: (v: NodeView) => string;
}

function pathsCell(v: NodeView): string {
  const p = v.metrics?.paths;
  return p ? [p.direct, p.hole_punched, p.relayed].map((n) => (n === null ? DASH : String(n))).join('/') : DASH;
}

export function stateLabel(v: NodeView): string {
  if (v.state === 'pending') return 'wait';
  if (v.state === 'stopped') return 'stop';
  if (v.state === 'down') return 'down';
  return v.lastError ? 'up!' : 'up';
}

function stateColor(v: NodeView): string | undefined {
  if (v.state === 'down') return 'red';
  if (v.state === 'pending' || v.state === 'stopped') return 'gray';
  return v.lastError ? 'yellow' : 'green';
}

export function columns(nameWidth: number): Column[] {
  return [
    { title: 'NODE', width: nameWidth, value: (v) => v.target.name },
    { title: 'NETWORK', width: 10, value: (v) => v.target.network ?? DASH },
    { title: 'NAT', width: 20, value: (v) => v.target.nat ?? v.status?.natType ?? DASH },
    { title: 'TIERS', width: 5, align: 'right', value: (v) => (v.status?.dht ? String(v.status.dht.tierCounts.length) : DASH) },
    { title: 'PEERS', width: 5, align: 'right', value: (v) => formatCount(v.status?.peers) },
    { title: 'PRESS', width: 5, align: 'right', value: (v) => formatRatio(v.status?.dht?.pressure) },
    { title: 'D/H/R', width: 9, align: 'right', value: pathsCell },
    { title: 'STATE', width: 5, value: stateLabel },
  ];
}

/** First row to draw so that `selected` is visible in a window of `maxRows`. */
export function windowStart(count: number, selected: number, maxRows: number): number {
  if (count <= maxRows) return 0;
  const half = Math.floor(maxRows / 2);
  return Math.max(0, Math.min(selected - half, count - maxRows));
}

export interface NodeTableProps {
  nodes: readonly NodeView[];
  /** Index into `nodes`; -1 for none. */
  selected: number;
  maxRows: number;
}

export function NodeTable({ nodes, selected, maxRows }: NodeTableProps) {
  const nameWidth = Math.min(18, Math.max(4, ...nodes.map((n) => n.target.name.length)));
  const cols = columns(nameWidth);
  const start = windowStart(nodes.length, selected, maxRows);
  const shown = nodes.slice(start, start + maxRows);
  const stateCol = cols.length - 1;
  const line = (v: NodeView, upTo: number): string =>
    cols
      .slice(0, upTo)
      .map((c) => cell(c.value(v), c.width, c.align))
      .join(' ');
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {'  '}
        {cols.map((c) => cell(c.title, c.width, c.align)).join(' ')}
        {nodes.length > maxRows ? `  ${start + 1}-${start + shown.length}/${nodes.length}` : ''}
      </Text>
      {nodes.length === 0 ? <Text dimColor>  (no nodes match)</Text> : null}
      {shown.map((v, i) => {
        const isSelected = start + i === selected;
        return (
          <Text key={v.target.name} inverse={isSelected} dimColor={v.state === 'pending' || v.state === 'stopped'} wrap="truncate-end">
            {isSelected ? '> ' : '  '}
            {line(v, stateCol)}{' '}
            <Text color={stateColor(v)}>{cell(stateLabel(v), cols[stateCol]!.width)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
