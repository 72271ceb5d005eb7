/**
 * The lab a verb acts on, and its runtime: the lab named (or the only one up), its backend read from its
 * state, so every verb works on every backend.
 */
import { ConfigError } from '../../src/errors.js';
import { allLabs, runtimeForLab, type LabRuntime } from '../runtime/index.js';
import { pickLab } from '../runtime/state.js';

export async function targetLab(requested: string | undefined): Promise<{ lab: string; runtime: LabRuntime }> {
  const lab = pickLab(requested, requested ? [] : await allLabs());
  const runtime = runtimeForLab(lab);
  if (!runtime) {
    throw new ConfigError(`no lab named "${lab}" is up (if its up crashed, remove what is left with: quicmesh-lab down ${lab})`);
  }
  return { lab, runtime };
}
