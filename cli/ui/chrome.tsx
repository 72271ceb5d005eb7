/**
 * The frame around the table: the header (lab, nodes up/total, refresh age, filter), the recent
 * events log (a fixed number of lines, so the help line below never jumps) and the key help line.
 */
import { Box, Text } from 'ink';
import type { LabEvent } from './events.js';
import { cell, formatClock, formatDuration } from './format.js';

export interface HeaderProps {
  lab: string;
  up: number;
  total: number;
  /** ms since the last complete poll; null before the first. */
  ageMs: number | null;
  intervalMs: number;
  filter: string;
  shown: number;
}

export function Header({ lab, up, total, ageMs, intervalMs, filter, shown }: HeaderProps) {
  const refreshed = ageMs === null ? 'waiting for first poll' : `refreshed ${formatDuration(ageMs)} ago`;
  return (
    <Text wrap="truncate-end">
      <Text bold color="cyan">
        quicmesh
      </Text>
      {lab ? ` · lab ${lab}` : ''}
      {' · '}
      <Text color={up === total ? 'green' : up === 0 ? 'red' : 'yellow'}>{`${up}/${total} up`}</Text>
      {` · ${refreshed} · every ${intervalMs < 1000 ? `${intervalMs}ms` : formatDuration(intervalMs)}`}
      {filter ? ` · filter "${filter}" (${shown} shown)` : ''}
    </Text>
  );
}

const KIND_COLOR: Record<string, string> = {
  up: 'green',
  down: 'red',
  restart: 'yellow',
  'path-upgrade': 'green',
  'path-failure': 'red',
};

export function EventsLog({ events, lines }: { events: readonly LabEvent[]; lines: number }) {
  const recent = events.slice(-lines);
  const nameWidth = Math.min(16, Math.max(4, ...recent.map((e) => e.node.length)));
  return (
    // A fixed height: the help line below never moves as events arrive.
    <Box flexDirection="column" height={lines + 1} flexShrink={0}>
      <Text bold>events</Text>
      {recent.map((e) => (
        <Text key={e.seq} wrap="truncate-end">
          <Text dimColor>{formatClock(e.at)} </Text>
          {cell(e.node, nameWidth)} <Text color={KIND_COLOR[e.kind]}>{e.text}</Text>
        </Text>
      ))}
    </Box>
  );
}

export function HelpLine({ filtering, filter }: { filtering: boolean; filter: string }) {
  if (filtering) {
    return (
      <Text wrap="truncate-end">
        <Text color="cyan">filter: </Text>
        {filter}
        <Text inverse> </Text>
        <Text dimColor>{'  type a name · Enter keep · Esc clear'}</Text>
      </Text>
    );
  }
  return <Text dimColor wrap="truncate-end">↑/↓ j/k move · Enter/→ details · / filter · Esc clear · q quit</Text>;
}
