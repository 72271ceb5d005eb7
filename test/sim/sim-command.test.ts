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

describe('quicmesh-lab sim', () => {
  it('prints one JSON object with the documented fields', async () => {
    const text = await runCli(['sim', '--nodes', '120', '--lookups', '60', '--seed', '4', '--churn', '0.1', '--tiering', 'off', '--json']);
    const r = JSON.parse(text);
    expect(r.config).toMatchObject({ nodes: 120, lookups: 60, churn: 0.1, seed: 4, tiering: false, latency: 'regions', k: 20, alpha: 3 });
    expect(r.nodes).toMatchObject({ total: 120, churned: 12, live: 108 });
    expect(r.lookups.count).toBe(60);
    expect(r.lookups.successRate).toBeGreaterThan(0.9);
    for (const key of ['rounds', 'hopsToClosest', 'latencyMs', 'messages']) {
      expect(Object.keys(r.lookups[key]).sort()).toEqual(['max', 'mean', 'p50', 'p95']);
    }
    expect(r.events).toBeGreaterThan(0);
    expect(Object.keys(r.perf.wallMs).sort()).toEqual(['bootstrap', 'lookups', 'setup', 'total']);
  });

  it('prints a table by default', async () => {
    const text = await runCli(['sim', '--nodes', '60', '--lookups', '20', '--latency', 'uniform']);
    expect(text).toMatch(/^nodes\s+60 \(live 60/m);
    expect(text).toMatch(/^success rate\s+/m);
    expect(text).toMatch(/latency=uniform/);
  });

  it('refuses invalid flag values', async () => {
    // yargs may throw synchronously while validating: wrap so both paths become a rejection.
    const parse = async (args: string[]): Promise<unknown> => parser().parseAsync(args);
    await expect(parse(['sim', '--tiering', 'maybe'])).rejects.toThrow(/tiering/);
    await expect(parse(['sim', '--nodes', '50', '--churn', '2'])).rejects.toThrow(/churn/);
  });
});

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
