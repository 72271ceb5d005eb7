import { describe, expect, it } from 'vitest';
import { getRuntime, resolveBackendName } from '../../cli/runtime/index.js';
import { ConfigError } from '../../src/errors.js';

describe('--backend auto', () => {
  it('picks netns as root on Linux when no Docker backend can run', () => {
    expect(resolveBackendName('auto', { platform: 'linux', uid: 0 })).toBe('netns');
  });

  it('refuses with a clear reason when nothing can run here', () => {
    expect(() => resolveBackendName('auto', { platform: 'linux', uid: 1000 })).toThrow(ConfigError);
    expect(() => resolveBackendName('auto', { platform: 'darwin', uid: 0 })).toThrow(/needs root on Linux/);
  });

  it('passes explicit names through and names the known ones for a wrong one', () => {
    expect(resolveBackendName('netns')).toBe('netns');
    expect(() => getRuntime('nope')).toThrow(/unknown lab backend "nope" \(known: netns\)/);
  });
});
