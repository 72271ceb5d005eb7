/**
 * Backends by name, and the runtime for a name or for a lab: `auto` picks the first backend that can run
 * here (docker when its engine answers, else netns as root); every verb on an existing lab finds the lab's
 * backend from its state, so `down`, `exec`, `logs`, `move` and `status` work whatever built it.
 */
import { ConfigError } from '../../src/errors.js';
import type { LabBackend } from './backend.js';
import { LabRuntime } from './orchestrator.js';
import { listStateLabs, readState } from './state.js';

export interface AutoEnv {
  platform?: string;
  uid?: number;
}

interface Registered {
  factory: () => LabBackend;
  /** May `auto` choose it here? (docker: does an engine answer, quickly) */
  autoProbe?: (env: AutoEnv) => boolean | Promise<boolean>;
}

const backends = new Map<string, Registered>();

/** Preference order of `--backend auto`. */
const AUTO_ORDER = ['docker', 'netns'];

export function registerBackend(name: string, factory: () => LabBackend, autoProbe?: Registered['autoProbe']): void {
  backends.set(name, { factory, ...(autoProbe ? { autoProbe } : {}) });
}

export function runtimeNames(): string[] {
  return [...backends.keys()].sort();
}

/** Let a backend say whether `auto` may choose it on this machine (tests replace probes with this too). */
export function registerAutoProbe(name: string, probe: (env: AutoEnv) => boolean | Promise<boolean>): void {
  const entry = backends.get(name);
  if (entry) entry.autoProbe = probe;
}

/** The backend `auto` resolves to here; other names pass through. */
export async function resolveBackendName(name: string, env: AutoEnv = {}): Promise<string> {
  if (name !== 'auto') return name;
  for (const candidate of AUTO_ORDER) {
    const entry = backends.get(candidate);
    if (entry?.autoProbe && (await entry.autoProbe(env))) return candidate;
  }
  throw new ConfigError(
    `--backend auto: no backend can run here (tried ${AUTO_ORDER.join(', ')}): docker needs an engine that answers, netns needs root on Linux`,
  );
}

/** The runtime of a backend named exactly (not `auto`: use chooseRuntime). */
export function getRuntime(name: string): LabRuntime {
  const entry = backends.get(name);
  if (!entry) {
    throw new ConfigError(
      name === 'auto'
        ? 'internal: resolve --backend auto with chooseRuntime()'
        : `unknown lab backend "${name}" (known: ${runtimeNames().join(', ') || 'none'}, or auto)`,
    );
  }
  return new LabRuntime(entry.factory());
}

/** The runtime for a --backend value, `auto` included. */
export async function chooseRuntime(requested: string): Promise<LabRuntime> {
  return getRuntime(await resolveBackendName(requested));
}

/** The runtime of an existing lab, from its state; null when the lab has no state. */
export function runtimeForLab(lab: string): LabRuntime | null {
  const state = readState(lab);
  return state ? getRuntime(state.backend) : null;
}

/** Every lab any backend knows of: state files, and resources found by label or prefix. */
export async function allLabs(): Promise<string[]> {
  const labs = new Set(listStateLabs());
  for (const [, entry] of backends) {
    try {
      for (const lab of await entry.factory().listLabs()) labs.add(lab);
    } catch {
      // a backend that cannot look (an engine that is down) has nothing to add here
    }
  }
  return [...labs].sort();
}

/**
 * `down` of a lab: through its state's backend; without a state (a crash before it was written, or a
 * state already removed), every backend sweeps by the lab's label and names, so nothing is left behind.
 */
export async function downLab(lab: string, progress: (line: string) => void = () => {}): Promise<string[]> {
  let state = null;
  try {
    state = readState(lab);
  } catch {
    // unreadable: sweep below like a lab without state
  }
  if (state) {
    await getRuntime(state.backend).down(lab, { onProgress: progress });
    return [state.backend];
  }
  const swept: string[] = [];
  for (const name of runtimeNames()) {
    const runtime = getRuntime(name);
    const found = await runtime.backend.listLabs().catch(() => [] as string[]);
    if (found.includes(lab) || name === 'netns') {
      await runtime.down(lab, { onProgress: progress });
      swept.push(name);
    }
  }
  return swept;
}
