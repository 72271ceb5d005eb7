/**
 * Readiness of a command node (node kinds, issue 14): one check of its `ready:` — a UDP or TCP socket bound
 * to the port in the node's namespace (`ss` from the host, so any image works), an HTTP URL answering 2xx
 * (fetched by the host's Node.js inside the node's namespace: 127.0.0.1 is the node), or a command run in the
 * node (its filesystem: the container on docker) exiting 0. Each check says what it waits for, for messages.
 */
import type { ResolvedReady } from '../topology/model.js';
import type { LabBackend } from './backend.js';
import { run } from './exec.js';
import type { LabState, NodeRecord } from './state.js';

/** What the node is waited for, in words ("a UDP socket on port 4433"). */
export function readyWhat(ready: ResolvedReady | null | undefined): string {
  if (!ready) return 'its process to run';
  switch (ready.check) {
    case 'udp':
      return `a UDP socket on port ${ready.port}`;
    case 'tcp':
      return `a TCP socket listening on port ${ready.port}`;
    case 'http':
      return `${ready.url} to answer 2xx`;
    case 'command':
      return `\`${ready.argv.join(' ')}\` to exit 0`;
  }
}

const FETCH_SCRIPT =
  'fetch(process.argv[1],{signal:AbortSignal.timeout(1000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))';

/** One check: true when the node is ready now. */
export async function checkReadyOnce(
  backend: LabBackend,
  state: LabState,
  node: NodeRecord,
  ready: ResolvedReady | null | undefined,
): Promise<boolean> {
  if (!ready) return true;
  const inNs = (argv: string[]) => run(['ip', 'netns', 'exec', node.namespace, ...argv], { timeoutMs: 5000 });
  try {
    switch (ready.check) {
      case 'udp':
      case 'tcp': {
        const { stdout } = await inNs([
          'ss',
          '-Hln',
          ready.check === 'udp' ? '-u' : '-t',
          `sport = :${ready.port}`,
        ]);
        return stdout.trim() !== '';
      }
      case 'http':
        await inNs([process.execPath, '-e', FETCH_SCRIPT, ready.url]);
        return true;
      case 'command':
        return (await backend.exec(state, node, ready.argv)).code === 0;
    }
  } catch {
    return false; // not (yet): the caller polls until its deadline
  }
}
