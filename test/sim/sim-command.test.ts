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
