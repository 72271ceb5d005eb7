/**
 * Link shaping: delay, jitter, loss and rate on the egress of lab interfaces.
 * Semantics: every packet *leaving* a shaped interface gets `delayMs` (± `jitterMs`, uniform), is
 * dropped with `lossPct` percent and is limited to `rateKbit`. A link on a network shapes every
 * interface attached to it (hosts and the routers' sides), so two hosts on a network shaped with
 * delay D see an RTT of 2·D; a link on one node shapes that node's interface only.
 * Mechanism: `tc netem` when the kernel has it; otherwise (this lab's kernel) loss by an nft rule
 * `numgen random`, rate by `tc tbf`, delay/jitter by nfq-delay (native/nfq-delay), a user-space
 * NFQUEUE stage fed by an iptables rule with --queue-bypass.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../src/errors.js';
import type { ResolvedTopology } from '../../topology/model.js';
import type { ProcessRecord } from '../../lab/lab-state.js';
import { stateRoot } from '../../lab/lab-state.js';
import { MissingToolError } from '../errors.js';
import { nsArgv, requireTools, run, tryRun } from '../exec.js';
import type { NetnsPlan } from './plan.js';
import { IF, nsName } from './names.js';

export interface ShapeTarget {
  namespace: string;
  iface: string;
  delayMs: number;
  jitterMs: number;
  lossPct: number;
  rateKbit: number;
}

export type ShapingMode = 'netem' | 'fallback';

export function shapingLabel(mode: ShapingMode): string {
  return mode === 'netem' ? 'tc netem' : 'nft numgen loss + tc tbf rate + NFQUEUE delay (nfq-delay); no netem in this kernel';
}

/** Which interfaces get which shaping. A node-specific link overrides its network's link. Pure. */
export function planShaping(topo: ResolvedTopology, plan: NetnsPlan): ShapeTarget[] {
  const out = new Map<string, ShapeTarget>();
  const ordered = [...topo.links].sort((a, b) => Number(a.node !== null) - Number(b.node !== null));
  for (const l of ordered) {
    if (l.delayMs < 0 || l.jitterMs < 0 || l.rateKbit < 0 || l.lossPct < 0 || l.lossPct > 100) {
      throw new ConfigError(`link on ${l.node ?? l.network}: delay, jitter and rate must be ≥ 0 and loss within 0..100`);
    }
    if (l.jitterMs > l.delayMs) throw new ConfigError(`link on ${l.node ?? l.network}: jitter (${l.jitterMs} ms) exceeds delay (${l.delayMs} ms)`);
    const shape = { delayMs: l.delayMs, jitterMs: l.jitterMs, lossPct: l.lossPct, rateKbit: l.rateKbit };
    if (l.node) {
      const node = topo.nodes.find((n) => n.name === l.node);
      if (!node) throw new ConfigError(`link refers to unknown node "${l.node}"`);
      const ns = nsName(topo.name, 'h', node.name);
      out.set(`${ns}/${IF.host}`, { namespace: ns, iface: IF.host, ...shape });
    } else {
      const atts = plan.attachments.filter((a) => a.network === l.network);
      if (!atts.length && !topo.networks.some((n) => n.name === l.network)) {
        throw new ConfigError(`link refers to unknown network "${l.network}"`);
      }
      for (const a of atts) out.set(`${a.namespace}/${a.iface}`, { namespace: a.namespace, iface: a.iface, ...shape });
    }
  }
  return [...out.values()].filter((t) => t.delayMs > 0 || t.lossPct > 0 || t.rateKbit > 0);
}

/** Does `tc qdisc add … netem` work here? Tried on a veth in a scratch namespace (no `dummy` module on every kernel). */
export async function detectNetem(): Promise<boolean> {
  const ns = `qm-netem-probe-${process.pid}`;
  await run(['ip', 'netns', 'add', ns]);
  try {
    await run(['ip', '-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
    return await tryRun(nsArgv(ns, ['tc', 'qdisc', 'add', 'dev', 'probe0', 'root', 'netem', 'delay', '1ms']));
  } finally {
    await tryRun(['ip', 'netns', 'del', ns]);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
export const NFQ_SOURCE = join(here, '..', '..', '..', 'native', 'nfq-delay', 'nfq-delay.c');

/** Build nfq-delay with gcc on first use (cached by source hash under the state root). */
export async function ensureNfqDelay(): Promise<string> {
  const src = readFileSync(NFQ_SOURCE);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const bin = join(stateRoot(), '.bin', `nfq-delay-${hash}`);
  if (existsSync(bin)) return bin;
  requireTools(['gcc']);
  if (!existsSync('/usr/include/libnetfilter_queue/libnetfilter_queue.h')) {
    throw new MissingToolError('libnetfilter_queue headers', 'libnetfilter-queue-dev');
  }
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  await run(['gcc', '-O2', '-Wall', '-o', tmp, NFQ_SOURCE, '-lnetfilter_queue', '-lnfnetlink'], { timeoutMs: 60_000 });
  await run(['mv', '-f', tmp, bin]);
  return bin;
}

function netemArgs(t: ShapeTarget): string[] {
  const a = ['limit', '10000'];
  if (t.delayMs > 0) a.push('delay', `${t.delayMs}ms`, ...(t.jitterMs > 0 ? [`${t.jitterMs}ms`] : []));
  if (t.lossPct > 0) a.push('loss', `${t.lossPct}%`);
  if (t.rateKbit > 0) a.push('rate', `${t.rateKbit}kbit`);
  return a;
}

/** tbf needs a bucket of at least one MTU and about 10 ms worth of the rate. */
function tbfArgs(rateKbit: number): string[] {
  const burst = Math.max(3200, Math.ceil((rateKbit * 1000) / 8 / 100));
  return ['rate', `${rateKbit}kbit`, 'burst', String(burst), 'latency', '100ms'];
}

/** The nft loss table for one namespace (fallback mode). Exported for tests. */
export function lossScript(targets: ShapeTarget[]): string {
  const rules = targets
    .filter((t) => t.lossPct > 0)
    .map((t) => `\t\toifname "${t.iface}" numgen random mod 10000 < ${Math.round(t.lossPct * 100)} drop`);
  return [
    'table inet qm_shape {}',
    'delete table inet qm_shape',
    'table inet qm_shape {',
    '\tchain egress_loss {',
    '\t\ttype filter hook postrouting priority filter; policy accept;',
    ...rules,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** Apply shaping; returns the nfq-delay processes started (to be recorded and killed at down). */
export async function applyShaping(
  targets: ShapeTarget[],
  mode: ShapingMode,
  logDir: string,
  onProcess: (p: ProcessRecord) => void,
): Promise<void> {
  if (mode === 'netem') {
    await Promise.all(
      targets.map((t) => run(nsArgv(t.namespace, ['tc', 'qdisc', 'replace', 'dev', t.iface, 'root', 'netem', ...netemArgs(t)]))),
    );
    return;
  }
  const byNs = new Map<string, ShapeTarget[]>();
  for (const t of targets) byNs.set(t.namespace, [...(byNs.get(t.namespace) ?? []), t]);
  const needDelay = targets.some((t) => t.delayMs > 0);
  const bin = needDelay ? await ensureNfqDelay() : '';
  await Promise.all(
    [...byNs].map(async ([ns, list]) => {
      if (list.some((t) => t.lossPct > 0)) await run(nsArgv(ns, ['nft', '-f', '-']), { input: lossScript(list) });
      for (const [q, t] of list.entries()) {
        if (t.rateKbit > 0) await run(nsArgv(ns, ['tc', 'qdisc', 'replace', 'dev', t.iface, 'root', 'tbf', ...tbfArgs(t.rateKbit)]));
        if (t.delayMs > 0) {
          const pid = await startNfqDelay(bin, ns, q, t, logDir);
          onProcess({ role: `shaper:${ns}:${t.iface}`, namespace: ns, pid, cmdlineMark: 'nfq-delay' });
          await run(nsArgv(ns, ['iptables', '-w', '-t', 'mangle', '-A', 'POSTROUTING', '-o', t.iface, '-j', 'NFQUEUE', '--queue-num', String(q), '--queue-bypass']));
        }
      }
    }),
  );
}

/** Start one nfq-delay, detached, and resolve once it says it is bound to its queue. */
function startNfqDelay(bin: string, ns: string, queue: number, t: ShapeTarget, logDir: string): Promise<number> {
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, `nfq-delay-${ns}-${t.iface}.log`), 'a');
  const argv = [bin, '-q', String(queue), '-d', String(Math.round(t.delayMs * 1000)), '-j', String(Math.round(t.jitterMs * 1000))];
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => reject(new Error(`nfq-delay in ${ns} (${t.iface}) ${why}; see ${logDir}`));
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code) => fail(`exited with ${code} before it was ready`));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        child.removeAllListeners('exit');
        child.stdout?.destroy();
        child.unref();
        if (child.pid === undefined) fail('has no pid');
        else resolve(child.pid);
      }
    });
  });
}
