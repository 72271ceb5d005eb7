/**
 * The lint rules that guard the rooms of src/ (eslint.config.js): protocol folders import no I/O
 * module and read no clock, timer or randomness but the injected ones; driver rooms may do I/O
 * but still take time from the clock; the simulator's harness and the component implementations
 * are the exceptions. Checked by linting small snippets as if they sat in each folder.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

/** The rule ids ESLint reports for `code` placed at `filePath`. */
async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

const IO = "import dgram from 'node:dgram';\nimport { networkInterfaces } from 'os';\nexport const io = [dgram, networkInterfaces];\n";
const CLOCK = 'export const t = [Date.now(), performance.now(), new Date()];\nsetTimeout(() => {}, 1);\n';
const LOOP = 'setImmediate(() => {});\n';
const RANDOM = 'export const r = Math.random();\n';

describe('lint guards the rooms of src/', () => {
  it('keeps protocol folders sans-IO', async () => {
    for (const dir of ['core', 'identity', 'wire', 'transport', 'transport/memory', 'dht', 'storage', 'tiering', 'pubsub', 'nat', 'nat/relay', 'connection']) {
      const file = `src/${dir}/x.ts`;
      expect(await violations(file, IO), file).toEqual(['no-restricted-imports', 'no-restricted-imports']);
      expect(await violations(file, CLOCK), file).toEqual([
        'no-restricted-properties',
        'no-restricted-properties',
        'no-restricted-syntax',
        'no-restricted-globals',
      ]);
      expect(await violations(file, LOOP), file).toEqual(['no-restricted-globals']);
      expect(await violations(file, RANDOM), file).toEqual(['no-restricted-properties']);
    }
  });

  it('lets the drivers do I/O, on the injected clock', async () => {
    for (const dir of ['traversal', 'transport/quic', 'node', 'metrics']) {
      const file = `src/${dir}/x.ts`;
      expect(await violations(file, IO + LOOP), file).toEqual([]);
      expect(await violations(file, CLOCK), file).toHaveLength(4);
      expect(await violations(file, RANDOM), file).toEqual(['no-restricted-properties']);
    }
  });

  it('leaves the real clock, randomness and log output to their implementations, and wall time to the simulator harness', async () => {
    expect(await violations('src/core/clock.ts', CLOCK + LOOP)).toEqual([]);
    expect(await violations('src/sim/x.ts', CLOCK + LOOP)).toEqual([]);
    expect(await violations('src/core/bytes.ts', CLOCK)).toHaveLength(4);
  });
});
