import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { captureIO } from '../../cli/lab/io.js';
import sim from '../../cli/lab/commands/sim.js';

function parser(): ReturnType<typeof yargs> {
  return yargs()
    .command(sim)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
}

async function runCli(args: string[]): Promise<string> {
  const io = captureIO();
  await parser().parseAsync(args, { io });
  return io.out.join('');
}

describe('quicmesh-lab sim --gossip', () => {
  it('prints the gossip report as JSON with --nodes, --seed, --loss, --failed and --messages applied', async () => {
    const args = ['sim', '--gossip', '--nodes', '60', '--seed', '3', '--loss', '0.05', '--failed', '0.1', '--messages', '20', '--json'];
    const r = JSON.parse(await runCli(args));
    expect(r.config).toMatchObject({ nodes: 60, seed: 3, loss: 0.05, failed: 0.1, messages: 20, latency: 'regions' });
    expect(r.live).toBe(54);
    expect(r.variants.map((v: { variant: string }) => v.variant)).toEqual(['eager-flood', 'gossipsub', 'adaptive', 'tiered']);
    for (const v of r.variants) {
      expect(v.expected).toBe(20 * 53);
      expect(v.deliveryRatio).toBeGreaterThan(0.9);
      expect(v.copiesPerDelivery).toBeGreaterThanOrEqual(1);
    }
    // Same flags, same seed: the same numbers (wall time aside).
    const again = JSON.parse(await runCli(args));
    const strip = (x: { variants: Array<Record<string, unknown>> }) => x.variants.map(({ wallMs: _w, ...rest }) => rest);
    expect(strip(again)).toEqual(strip(r));
  });

  it('prints a side-by-side table by default', async () => {
    const text = await runCli(['sim', '--gossip', '--nodes', '40', '--messages', '10', '--latency', 'uniform']);
    expect(text).toMatch(/^gossip sim: N=40 \(live 40\)/m);
    expect(text).toMatch(/^\s+eager-flood\s+gossipsub\s+adaptive\s+tiered$/m);
    expect(text).toMatch(/^delivery ratio\s+/m);
    expect(text).toMatch(/latency uniform/);
  });

  it('refuses bad gossip flags', async () => {
    const parse = async (args: string[]): Promise<unknown> => parser().parseAsync(args, { io: captureIO() });
    await expect(parse(['sim', '--gossip', '--nodes', '20', '--failed', '1'])).rejects.toThrow(/failed must be in \[0, 1\)/);
    await expect(parse(['sim', '--gossip', '--nodes', '20', '--messages', '0'])).rejects.toThrow(/messages must be an integer >= 1/);
    await expect(parse(['sim', '--nodes', '20', '--failed', '0.1'])).rejects.toThrow(/apply to --gossip runs only/);
  });
});
