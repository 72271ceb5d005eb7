/**
 * The node bundle of the docker images is kept per clone: two worktrees on one machine (one state root)
 * must not share it, or one clone's labs run the other's node (seen: a fix in one worktree absent from its
 * docker labs, whose bundle another worktree had built and whose recorded inputs had not changed).
 */
import { describe, expect, it } from 'vitest';
import { bundleDir } from '../../cli/runtime/docker/image-bundle.js';

describe('bundleDir', () => {
  it('differs between clones and is stable for one', () => {
    const a = bundleDir('/run/quicmesh-lab', '/work/wt-a');
    expect(a).toMatch(/^\/run\/quicmesh-lab\/\.images\/bundle\/[0-9a-f]{16}$/);
    expect(bundleDir('/run/quicmesh-lab', '/work/wt-b')).not.toBe(a);
    expect(bundleDir('/run/quicmesh-lab', '/work/wt-a/')).toBe(a);
  });
});
