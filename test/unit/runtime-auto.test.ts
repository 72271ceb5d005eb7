/** `--backend auto`: docker when its engine answers, else netns as root on Linux; names pass through. */
import { describe, expect, it } from 'vitest';
import { getRuntime, registerAutoProbe, resolveBackendName } from '../../cli/runtime/index.js';
import { engineIsLocal } from '../../cli/runtime/docker/engine.js';
import { ConfigError } from '../../src/errors.js';

const linuxRoot = { platform: 'linux', uid: 0 };

describe('--backend auto', () => {
  // each case sets the probes it needs (the registry is this test file's own: vitest isolates files)
  it('picks docker when its engine answers', async () => {
    registerAutoProbe('docker', () => true);
    expect(await resolveBackendName('auto', linuxRoot)).toBe('docker');
  });

  it('picks netns as root on Linux when no engine answers', async () => {
    registerAutoProbe('docker', () => false);
    expect(await resolveBackendName('auto', linuxRoot)).toBe('netns');
  });

  it('refuses with a clear reason when nothing can run here', async () => {
    registerAutoProbe('docker', () => false);
    await expect(resolveBackendName('auto', { platform: 'linux', uid: 1000 })).rejects.toThrow(ConfigError);
    await expect(resolveBackendName('auto', { platform: 'darwin', uid: 0 })).rejects.toThrow(/netns needs root on Linux/);
    await expect(resolveBackendName('auto', { platform: 'darwin', uid: 0 })).rejects.toThrow(/docker needs an engine that answers/);
  });

  it('passes explicit names through and names the known ones for a wrong one', async () => {
    expect(await resolveBackendName('netns')).toBe('netns');
    expect(await resolveBackendName('docker')).toBe('docker');
    expect(() => getRuntime('nope')).toThrow(/unknown lab backend "nope" \(known: docker, netns, or auto\)/);
  });
});

describe('docker engine address', () => {
  it('is local for the default socket, a unix socket or tcp to loopback, remote otherwise', () => {
    expect(engineIsLocal({})).toBe(true);
    expect(engineIsLocal({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toBe(true);
    expect(engineIsLocal({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toBe(true);
    expect(engineIsLocal({ DOCKER_HOST: 'tcp://build-host.example:2376' })).toBe(false);
    expect(engineIsLocal({ DOCKER_HOST: 'ssh://me@elsewhere' })).toBe(false);
  });
});
