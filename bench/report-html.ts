/**
 * The HTML report's weight and how fast it opens: `npx tsx bench/report-html.ts [RUN.json BASELINE.json…]
 * [--screenshot FILE]`. Renders the report (by default of a NAT-matrix-shaped run, 36 cells × 20 repeats,
 * against a baseline, with 10 runs of trend), then opens it in headless Chromium five times and prints the
 * median time from navigation to the load event and to the first paint, beside an empty page opened the same
 * way in the same browser (the baseline). Needs /usr/bin/chromium (prints a skip line otherwise).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { compareReports } from '../cli/lab/report/compare.js';
import { toHtml } from '../cli/lab/report/html.js';
import { loadReport, type RunReport } from '../cli/lab/report/load.js';
import { trendOrder } from '../cli/lab/commands/report.js';
import { natMatrixRun, seeded } from '../test/support/report-runs.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.js';
const args = process.argv.slice(2);
const shotAt = args.indexOf('--screenshot');
const screenshot = shotAt >= 0 ? args.splice(shotAt, 2)[1] : undefined;

function runs(): { runs: RunReport[]; what: string } {
  if (args.length > 0) {
    const [run, ...baselines] = args.map((f) => loadReport(f));
    return {
      runs: [...trendOrder(baselines), run!],
      what: `${args[0]} and ${baselines.length} earlier run(s)`,
    };
  }
  const rand = seeded(11);
  const list = Array.from({ length: 10 }, (_, i) =>
    natMatrixRun(rand, {
      repeats: 20,
      punchDelayMs: i === 9 ? 100 : 0,
      run: { startedAt: new Date(Date.UTC(2025, 0, i + 1)).toISOString(), label: `run-${i + 1}` },
    }),
  );
  return { runs: list, what: 'synthetic NAT matrix: 36 cells × 20 repeats, 10 runs' };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`report-html: skipped, ${CHROMIUM} is not installed (apt-get install chromium)\n`);
    return;
  }
  const { runs: list, what } = runs();
  const current = list.at(-1)!;
  const baseline = list.at(-2);
  const t0 = performance.now();
  const html = toHtml(list, baseline ? compareReports(baseline, current) : null);
  const renderMs = performance.now() - t0;
  const dir = mkdtempSync(join(tmpdir(), 'report-bench-'));
  const reportFile = join(dir, 'report.html');
  const emptyFile = join(dir, 'empty.html');
  writeFileSync(reportFile, html);
  writeFileSync(
    emptyFile,
    '<!doctype html><html><head><meta charset="utf-8"><title>empty</title></head><body><p>empty</p></body></html>',
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const measure = async (file: string): Promise<{ load: number; paint: number; wall: number }> => {
      const loads: number[] = [];
      const paints: number[] = [];
      const walls: number[] = [];
      for (let i = 0; i < 5; i++) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const start = performance.now();
        await page.goto(`file://${file}`, { waitUntil: 'load' });
        walls.push(performance.now() - start);
        // browser-side, as a string: this project compiles without DOM types
        const t = (await page.evaluate(
          `(() => ({ load: performance.getEntriesByType('navigation')[0].loadEventEnd,
            paint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN }))()`,
        )) as { load: number; paint: number };
        loads.push(t.load);
        paints.push(t.paint);
        if (file === reportFile && i === 0 && screenshot)
          await page.screenshot({ path: screenshot, fullPage: true });
        await page.close();
      }
      return { load: median(loads), paint: median(paints), wall: median(walls) };
    };
    const empty = await measure(emptyFile);
    const report = await measure(reportFile);
    const row = (name: string, bytes: number, m: { load: number; paint: number; wall: number }): string =>
      `${name.padEnd(28)} ${`${(bytes / 1024).toFixed(1)} KiB`.padStart(11)} ${`${m.load.toFixed(0)} ms`.padStart(9)} ${`${m.paint.toFixed(0)} ms`.padStart(12)} ${`${m.wall.toFixed(0)} ms`.padStart(12)}`;
    process.stdout.write(
      [
        `HTML report of ${what} (rendered in ${renderMs.toFixed(0)} ms); medians of 5 opens in headless Chromium`,
        `${'page'.padEnd(28)} ${'size'.padStart(11)} ${'load event'.padStart(9)} ${'first paint'.padStart(12)} ${'goto→load'.padStart(12)}`,
        row('empty page (baseline)', 120, empty),
        row('report', Buffer.byteLength(html), report),
        screenshot ? `screenshot: ${screenshot}` : '',
        '',
      ].join('\n'),
    );
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
