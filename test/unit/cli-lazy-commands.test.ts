/**
 * Both CLIs list their verbs lazily (cli/shared/lazy-command.ts): each entry repeats its module's
 * `command` and `describe` so `--help` needs no import. These tests keep the copies equal to the
 * modules and check that a lazy verb still parses, validates and prints its own help.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS as LAB_COMMANDS, main as labMain } from '../../cli/quicmesh-lab.js';
import { COMMANDS as NODE_COMMANDS, main as nodeMain } from '../../cli/quicmesh.js';
import { captureIO } from '../../cli/lab/io.js';

describe.each([
  ['quicmesh-lab', LAB_COMMANDS],
  ['quicmesh', NODE_COMMANDS],
])('%s lazy commands', (_program, commands) => {
  it.each(commands.map((c) => [String(c.command), c] as const))(
    '%s matches its module',
    async (_name, lazy) => {
      const loaded = await lazy.load();
      expect({ command: lazy.command, describe: lazy.describe }).toEqual({
        command: loaded.command,
        describe: loaded.describe,
      });
    },
  );
});

describe('a lazy verb', () => {
  it('prints its own options in its help', async () => {
    const io = captureIO();
    expect(await labMain(['graph', '--help'], io)).toBe(0);
    expect(io.out.join('')).toMatch(/quicmesh-lab graph <file>[\s\S]*--format/);
  });

  it('refuses an unknown flag of a loaded verb (strict mode reaches its options)', async () => {
    const io = captureIO();
    expect(await labMain(['validate', 'topologies/chat.yaml', '--bogus'], io)).toBe(2);
    expect(io.err.join('')).toContain('Unknown argument: bogus');
  });

  it('runs the node binary verbs through the same path', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const output = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
    expect(await nodeMain(['node', '--help'], output)).toBe(0);
    expect(out.join('')).toContain('--bootstrap');
    // the handler runs (its flag check answers), so the verb's module was loaded and called
    expect(await nodeMain(['node', '--listen', 'nope'], output)).toBe(2);
    expect(err.join('')).toBe(
      'quicmesh: --listen: missing port, got "nope" (expected HOST:PORT, e.g. 127.0.0.1:4433 or [::1]:4433)\n',
    );
  });
});
