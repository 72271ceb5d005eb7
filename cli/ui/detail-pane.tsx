/**
 * The detail pane of the selected node: identity and addresses, DHT parameters (k, α), latency tier
 * centroids, storage, open paths and their RTTs, path changes, and the busiest request types.
 */
import { Box, Text } from 'ink';
import { DASH, cell, formatCount, formatDuration, formatMs, formatRate, formatRatio } from './format.js';
import { ALL_PATHS, PATH_KINDS, pathKindOf, type NodeView } from './node-view.js';
import { stateLabel } from './node-table.js';

const LABEL = 10;
const MAX_REQUEST_ROWS = 6;

/** Lines the pane takes for `view` (border included), for the layout budget. */
export function detailHeight(view: NodeView): number {
  const m = view.metrics;
  const changes = m && Object.keys(m.upgrades).length + Object.keys(m.failures).length > 0 ? 1 : 0;
  return 2 + 9 + changes + (view.process ? 1 : 0) + Math.min(MAX_REQUEST_ROWS, view.requests.length) + (view.lastError ? 1 : 0);
}

function Row({ label, children }: { label: string; children: string }) {
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{cell(label, LABEL)}</Text>
      {children}
    </Text>
  );
}

function kindName(kind: string): string {
  return (pathKindOf(kind) ?? kind).replace('_', '-');
}

/** "pid 1234 · restarts 2", "container qm-lab_alice · stopped · restarts 1". */
export function processText(view: NodeView): string {
  const p = view.process!;
  const where = p.container ? `container ${p.container}` : p.pid === null ? 'no process' : `pid ${p.pid}`;
  return `${where}${p.running ? '' : ' · stopped'} · restarts ${p.restarts}`;
}

export function DetailPane({ view, now }: { view: NodeView; now: number }) {
  const s = view.status;
  const d = s?.dht ?? null;
  const m = view.metrics;
  const t = view.target;
  const seen = view.lastOkAt === null ? 'never answered' : `last answer ${formatDuration(now - view.lastOkAt)} ago`;
  const tiers =
    d && d.tierCentroidsMs.length > 0
      ? d.tierCentroidsMs.map((c, i) => `#${i} ${formatMs(c)} ×${d.tierCounts[i] ?? 0}`).join('  ')
      : DASH;
  const paths = m?.paths
    ? PATH_KINDS.filter((k) => m.paths![k] !== null)
        .map((k) => `${kindName(k)} ${m.paths![k]}`)
        .join(' · ')
    : DASH;
  const rtts = m ? Object.entries(m.rttMs).map(([k, ms]) => `${k === ALL_PATHS ? '' : `${kindName(k)} `}${formatMs(ms)}`) : [];
  const changes = m
    ? [
        ...Object.entries(m.upgrades).map(([k, n]) => `upgrades${k === ALL_PATHS ? '' : `→${kindName(k)}`} ${n}`),
        ...Object.entries(m.failures).map(([k, n]) => `failures${k === ALL_PATHS ? '' : ` ${kindName(k)}`} ${n}`),
      ]
    : [];
  const requests = view.requests.slice(0, MAX_REQUEST_ROWS);
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text wrap="truncate-end">
        <Text bold>{t.name}</Text> {stateLabel(view)} <Text dimColor>({seen})</Text>
      </Text>
      <Row label="NodeId">{s?.nodeId || DASH}</Row>
      <Row label="address">{`${s?.addr || DASH} · status ${t.baseUrl}`}</Row>
      <Row label="network">{`${t.network ?? DASH} · NAT ${t.nat ?? DASH}${s?.natType ? ` (detected ${s.natType})` : ''}`}</Row>
      {view.process ? <Row label="process">{processText(view)}</Row> : null}
      <Row label="node">{`uptime ${formatDuration(s?.uptimeMs)} · peers ${formatCount(s?.peers)} · identity mismatches ${formatCount(s?.identityMismatches)}`}</Row>
      <Row label="DHT">
        {d
          ? `k ${formatCount(d.k)} · α ${formatCount(d.alpha)} · routing table ${formatCount(d.routingTableSize)} · stored keys ${formatCount(d.storedKeys)} · pressure ${formatRatio(d.pressure)}`
          : DASH}
      </Row>
      <Row label="tiers">{tiers}</Row>
      <Row label="paths">{`${paths}${rtts.length ? ` · rtt ${rtts.join(' ')}` : ''}${m?.connectionsOpen != null ? ` · conns ${m.connectionsOpen}` : ''}`}</Row>
      {changes.length > 0 ? <Row label="changes">{changes.join(' · ')}</Row> : null}
      <Row label="requests">
        {requests.length === 0 ? DASH : `${cell('type', 16)}${cell('served', 9, 'right')}${cell('/s', 6, 'right')}${cell('sent', 9, 'right')}${cell('/s', 6, 'right')}`}
      </Row>
      {requests.map((r) => (
        <Text key={r.type} wrap="truncate-end">
          {cell('', LABEL)}
          {cell(r.type, 16)}
          {cell(String(r.served), 9, 'right')}
          {cell(formatRate(r.servedPerSec), 6, 'right')}
          {cell(String(r.sent), 9, 'right')}
          {cell(formatRate(r.sentPerSec), 6, 'right')}
        </Text>
      ))}
      {view.lastError ? (
        <Text color={view.state === 'down' ? 'red' : 'yellow'} wrap="truncate-end">
          {cell('error', LABEL)}
          {view.lastError}
        </Text>
      ) : null}
    </Box>
  );
}
