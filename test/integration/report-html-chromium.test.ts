/**
 * The HTML report in a real browser: Debian's headless Chromium (driven by playwright-core) opens the report of
 * a NAT-matrix-shaped run — 36 cells × 20 repeats against a baseline and an older run — from a file, with the
 * network cut off. It must render with no console error, no failed or attempted request, and a screenshot of
 * it must show the grid: its pixels hold the path colours of the cells. Skipped, saying why, only where
 * /usr/bin/chromium (apt-get install chromium) is absent; CI installs it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReports } from '../../cli/lab/report/compare.js';
import { toHtml } from '../../cli/lab/report/html.js';
import { PATH_COLOURS } from '../../cli/lab/report/svg.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.js';
import { natMatrixRun, seeded } from '../support/report-runs.js';

const present = existsSync(CHROMIUM);

/** Browser-side (a string: this project compiles without DOM types): how many pixels of a PNG have each colour. */
const COUNT_PIXELS = `async ({ b64, fills }) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = fills.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  const n = rgb.map(() => 0);
  for (let p = 0; p < data.length; p += 4)
    rgb.forEach((c, i) => {
      if (Math.abs(data[p] - c[0]) + Math.abs(data[p + 1] - c[1]) + Math.abs(data[p + 2] - c[2]) < 6) n[i]++;
    });
  return { n, total: data.length / 4 };
}`;
const title = present
  ? 'the HTML report in headless Chromium'
  : `the HTML report in headless Chromium — SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium)`;

describe.skipIf(!present)(title, () => {
  let browser: Browser;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'report-html-'));
    const rand = seeded(3);
    const older = natMatrixRun(rand, {
      repeats: 20,
      run: { startedAt: '2025-01-01T00:00:00.000Z', label: 'older' },
    });
    const base = natMatrixRun(rand, {
      repeats: 20,
      run: { startedAt: '2025-01-02T00:00:00.000Z', label: 'base' },
    });
    const now = natMatrixRun(rand, {
      repeats: 20,
      punchDelayMs: 100,
      run: { startedAt: '2025-01-03T00:00:00.000Z', label: 'now' },
    });
    file = join(dir, 'report.html');
    writeFileSync(file, toHtml([older, base, now], compareReports(base, now)));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders with no console error and no request, and the screenshot shows the grid', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, offline: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (r.url() !== `file://${file}`) problems.push(`request: ${r.url()}`);
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    expect(await page.locator('#matrix td.cell').count()).toBe(36);
    expect(await page.locator('#status').textContent()).toMatch(/^\d+ regression\(s\) against the baseline/);
    expect(await page.locator('svg.dist circle').count()).toBeGreaterThan(36 * 20);
    const grid = page.locator('#matrix');
    const box = (await grid.boundingBox())!;
    expect(box.width).toBeGreaterThan(600);
    expect(box.height).toBeGreaterThan(300);
    const png = await grid.screenshot();
    writeFileSync(join(dir, 'grid.png'), png);

    // read the screenshot's pixels back (in a blank page: the report's policy allows no canvas tricks)
    const blank = await context.newPage();
    const fills = ['direct', 'hole-punched', 'relayed'].map((k) => PATH_COLOURS[k]!.fill);
    const counts = (await blank.evaluate(
      `(${COUNT_PIXELS})(${JSON.stringify({ b64: png.toString('base64'), fills })})`,
    )) as { n: number[]; total: number };
    // every path kind of the matrix fills a visible share of the grid
    for (const n of counts.n) expect(n / counts.total).toBeGreaterThan(0.02);
    expect(problems).toEqual([]);
    await context.close();
  });
});
