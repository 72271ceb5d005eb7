import { describe, expect, it } from 'vitest';
import { getRuntime, resolveBackendName } from '../../cli/runtime/index.js';
import { ConfigError } from '../../src/errors.js';

describe('--backend auto', () => {
  it('picks netns as root on Linux when no Docker backend can run', async () => {
    expect(await resolveBackendName('auto', { platform: 'linux', uid: 0 })).toBe('netns');
  });

  it('refuses with a clear reason when nothing can run here', async () => {
    await expect(resolveBackendName('auto', { platform: 'linux', uid: 1000 })).rejects.toThrow(ConfigError);
    await expect(resolveBackendName('auto', { platform: 'darwin', uid: 0 })).rejects.toThrow(/needs root on Linux/);
  });

  it('passes explicit names through and names the known ones for a wrong one', async () => {
    expect(await resolveBackendName('netns')).toBe('netns');
    expect(() => getRuntime('nope')).toThrow(/unknown lab backend "nope" \(known: netns/);
  });
});
