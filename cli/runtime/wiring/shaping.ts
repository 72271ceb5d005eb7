/**
 * Applying link shaping (plan/shaping-plan.ts) inside lab namespaces, the same on every backend.
 * Mechanism: `tc netem` when the kernel has it; otherwise (this lab's kernel) loss by an nft rule
 * `numgen random`, rate by `tc tbf`, delay/jitter by nfq-delay (native/nfq-delay), a user-space
 * NFQUEUE stage fed by an iptables rule with --queue-bypass.
 *
 * Where the delay sits matters to a NAT. netem delays a packet after it left the router, NAT state made
 * (the wire's delay). An NFQUEUE stage on the way out would hold it before conntrack confirms its
 * entry, so the router's mapping and filter would open only once the delay is over: a peer's packet
 * arriving meanwhile would be dropped, and every punch race would look one delay slower than on real
 * NATs. So the fallback holds packets as they *arrive* on a shaped interface, in the raw table's
 * PREROUTING (before conntrack): the receiving router judges them when they come off the wire, against
 * its state at that moment, as with netem. Loss and rate stay on the way out.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProcessRecord } from '../state.js';
import { stateRoot } from '../state.js';
import { packagePath, runningCompiled } from '../../shared/package-root.js';
import { MissingToolError } from '../errors.js';
import { nsArgv, requireTools, run, tryRun } from '../exec.js';
import { type ShapeTarget, type ShapingMode, lossScript, shapingLabel } from '../plan/shaping-plan.js';

export { type ShapeTarget, type ShapingMode, shapingLabel };

/** The shaping mode a lab uses, from its state's label; null while it shapes nothing. */
export function labShapingMode(state: { shaping: string | null }): ShapingMode | null {
  if (state.shaping === shapingLabel('netem')) return 'netem';
  if (state.shaping === shapingLabel('fallback')) return 'fallback';
  return null;
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

/** The delay helper's C source: in the clone, and copied into dist/ by the build (the package ships no native/). */
function nfqSource(): string {
  return packagePath(...(runningCompiled ? ['dist'] : []), 'native', 'nfq-delay', 'nfq-delay.c');
}

/** Build nfq-delay with gcc on first use (cached by source hash under the state root). */
export async function ensureNfqDelay(): Promise<string> {
  const source = nfqSource();
  const src = readFileSync(source);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const bin = join(stateRoot(), '.bin', `nfq-delay-${hash}`);
  if (existsSync(bin)) return bin;
  requireTools(['gcc']);
  if (!existsSync('/usr/include/libnetfilter_queue/libnetfilter_queue.h')) {
    throw new MissingToolError('libnetfilter_queue headers', 'libnetfilter-queue-dev');
  }
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  await run(['gcc', '-O2', '-Wall', '-o', tmp, source, '-lnetfilter_queue', '-lnfnetlink'], { timeoutMs: 60_000 });
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
          await run(nsArgv(ns, delayRuleArgv(t.iface, q)));
        }
      }
    }),
  );
}

/** The iptables rule that hands the packets arriving on `iface` to nfq-delay queue `queue` (before conntrack: see above). */
export function delayRuleArgv(iface: string, queue: number): string[] {
  return ['iptables', '-w', '-t', 'raw', '-A', 'PREROUTING', '-i', iface, '-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass'];
}

/** Remove a namespace's fallback loss table and delay rules (its nfq-delay processes are the caller's). */
export async function clearFallbackRules(ns: string): Promise<void> {
  await tryRun(nsArgv(ns, ['nft', 'delete', 'table', 'inet', 'qm_shape']));
  await tryRun(nsArgv(ns, ['iptables', '-w', '-t', 'raw', '-F', 'PREROUTING']));
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
