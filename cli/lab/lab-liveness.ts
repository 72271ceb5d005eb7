/**
 * Node kinds (issue 14): the live UI's way to ask whether a command node's program runs — it answers no
 * /status — through the lab's backend (a process on netns, a container on docker).
 */
import { runtimeForLab } from '../runtime/index.js';
import { readState } from '../runtime/state.js';
import type { Liveness } from '../ui/poller.js';

export function labLiveness(lab: string): Liveness {
  return async (target) => {
    const state = readState(lab);
    const runtime = runtimeForLab(lab);
    const rec = state?.nodes.find((n) => n.name === target.name);
    if (!state || !runtime || !rec) return { running: false, error: `lab ${lab} is gone` };
    if (!rec.process) return { running: false, error: 'not started' };
    const live = await runtime.backend.nodeLiveness(state, rec);
    return live.running
      ? { running: true }
      : { running: false, error: `exited (code ${live.exitCode ?? '?'})` };
  };
}
