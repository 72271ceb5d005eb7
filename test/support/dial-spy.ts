/** Watching a node's dials in tests: see each one (target, options) before it starts. */
import type { MeshNode } from '../../src/node/mesh-node.js';
import { capability } from '../../src/transport/capabilities.js';
import type { ConnectionControl } from '../../src/transport/paths.js';

export type Dial = Parameters<ConnectionControl['connect']>;

/** Let `seen` look at every dial `node` starts (target, options) before it starts. */
export function onDial(node: MeshNode, seen: (...args: Dial) => void): void {
  const control = capability(node.transport, 'connectionControl')!;
  const connect = control.connect.bind(control);
  control.connect = (...args: Dial) => {
    seen(...args);
    return connect(...args);
  };
}
