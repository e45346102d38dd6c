import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Config } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { METHODS, REPLAY_KS, runReplay, SLICES, summaryTable, writeReport, type MetricsReport, type ReplayReport, type WrittenReport } from '../../src/replay/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../../src/replay/screenshot.js';
import { ensureStack } from '../support/stack.js';

let cfg: Config;
let report: ReplayReport | undefined;
let written: WrittenReport | undefined;
// Under the git-ignored reports/ folder, so the page and its screenshot can be looked at after the run.
const outDir = resolve(PROJECT_ROOT, 'reports', 'test-replay');

before(async () => {
  const stack = await ensureStack();
  // Small model sizes: the bounded prefix must replay in a few minutes on two cores.
  cfg = { ...stack, palDim: 32, palLayers: 1, palHeads: 2, palOutDim: 32, historyLen: 30, batchUsers: 16, windowMs: 1000 };
});

test('replay of the first 3000 ML-100K events through the real stack: every method, every slice, every event', { timeout: 300_000 }, async (t) => {
  const progress: number[] = [];
  report = await runReplay(cfg, { dataset: 'ml-100k', speed: 0, limit: 3000, methods: [...METHODS], operatingPoint: { beta: 0, contentWeight: 0 }, stallTimeoutMs: 120_000, onProgress: (p) => progress.push(p.eventsTrained) });
  written = writeReport(report, outDir);
  t.diagnostic(`\n${summaryTable(report)}\nwall ${report.wallSeconds} s, ${report.windows} windows, ${report.trainerSteps} steps; report ${written.html}`);

  assert.equal(report.produced.events, 3000);
  assert.ok(report.produced.listings > 0 && report.itemsEncoded === report.produced.listings, 'every listing encoded');
  assert.equal(report.eventsTrained + report.deadLettered.events, report.produced.events, 'the replay ran until every produced event was trained or dead-lettered');
  assert.ok(report.windows > 1 && report.trainerSteps > 0);
  assert.ok(progress.length > 0);
  for (const m of METHODS) {
    const mr: MetricsReport | undefined = report.metrics[m];
    assert.ok(mr, `metrics for ${m}`);
    assert.equal(mr.overall.events, report.produced.events - report.deadLettered.events, `${m}: one ranked observation per trained event`);
    const groups = [mr.overall, ...SLICES.map((s) => mr.slices[s]), ...mr.windows];
    for (const g of groups) {
      for (const k of REPLAY_KS) {
        for (const v of [g.recall[String(k)], ...(k <= 20 ? [g.ndcg[String(k)]] : [])]) {
          assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${m} metric in [0,1]: ${v}`);
        }
      }
      assert.ok(g.mrr >= 0 && g.mrr <= 1);
    }
    for (const s of SLICES) assert.ok(mr.slices[s].events > 0, `${m}: slice ${s} has events`);
    assert.ok(mr.windows.length >= 1);
  }
  // The learned and the frozen methods differ from chance: popularity alone beats 10/1682 on ML-100K.
  assert.ok((report.metrics.popularity?.overall.recall['10'] ?? 0) > 10 / report.produced.listings);
  assert.ok(report.freshness.listingToContent.count > 0 && report.freshness.eventToTrained.count === report.eventsTrained);
  assert.ok(existsSync(written.json) && existsSync(written.html));
  // Events are scored with the history up to them: only a user's first event falls back to popularity.
  assert.ok((report.fallbackEvents.learn ?? 0) < report.eventsTrained / 5, `fallback events ${report.fallbackEvents.learn}`);
});

test('the report renders in headless Chromium with every chart drawn', { timeout: 120_000 }, async (t) => {
  assert.ok(written, 'the replay test wrote a report');
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install -y chromium)`);
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(written.html).href);
    // Page code as strings: the test is compiled without DOM types.
    await page.waitForFunction('window.__chartsReady !== undefined', undefined, { timeout: 30_000 });
    const state = (await page.evaluate(`(() => {
      const charts = window.__charts;
      const canvases = [...document.querySelectorAll('canvas')];
      const inked = canvases.map((c) => {
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0 || c.height === 0) return 0;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      });
      return { charts: charts.length, datasets: charts.map((c) => c.data.datasets.length), canvases: canvases.length, inked, rows: document.querySelectorAll('#summary tbody tr').length };
    })()`)) as { charts: number; datasets: number[]; canvases: number; inked: number[]; rows: number };
    t.diagnostic(JSON.stringify(state));
    assert.deepEqual(errors, []);
    assert.equal(state.canvases, 11, '6 metrics over time, loss, 2 slice charts, 2 latency histograms');
    assert.equal(state.charts, state.canvases, 'a Chart.js instance per canvas');
    assert.ok(state.inked.every((n) => n > 500), `every canvas has ink: ${state.inked.join(',')}`);
    assert.ok(state.datasets.every((n) => n >= 1));
    assert.equal(state.rows, METHODS.length);
    const png = join(outDir, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok(statSync(png).size > 10_000);
    t.diagnostic(`screenshot ${png}`);
  } finally {
    await browser.close();
  }
});
