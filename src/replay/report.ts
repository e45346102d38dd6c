// The replay report: metrics.json and a self-contained index.html whose charts are drawn by Chart.js, inlined
// from node_modules so the page works offline (file://, no network).
import { COLD_ITEM_THRESHOLD } from '../config/constants.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import type { MethodName } from './evaluator.js';
import { SLICES, type MetricSummary } from './metrics-accumulator.js';
import type { ReplayReport } from './run.js';

export interface WrittenReport {
  dir: string;
  json: string;
  html: string;
}

/** reports/<run> under the project (LEARN_REPORTS_DIR), or `out` when given. */
export function reportDir(cfg: Config, run: string, out?: string): string {
  return out ? resolve(out) : resolve(PROJECT_ROOT, cfg.reportsDir, run);
}

export function writeReport(report: ReplayReport, dir: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'metrics.json');
  const html = join(dir, 'index.html');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderReportHtml(report));
  return { dir, json, html };
}

/** The rows of the summary table: method x (overall, cold-item) x (Recall@10, NDCG@10). */
export function summaryRows(r: ReplayReport): Array<{ method: MethodName; label: string; events: number; recall10: number; ndcg10: number; coldRecall10: number; coldNdcg10: number; coldEvents: number }> {
  return r.methods.map((m) => {
    const mr = r.metrics[m];
    const o = mr?.overall;
    const c = mr?.slices.coldItem;
    return {
      method: m,
      label: r.methodLabels[m] ?? m,
      events: o?.events ?? 0,
      recall10: o?.recall['10'] ?? 0,
      ndcg10: o?.ndcg['10'] ?? 0,
      coldRecall10: c?.recall['10'] ?? 0,
      coldNdcg10: c?.ndcg['10'] ?? 0,
      coldEvents: c?.events ?? 0,
    };
  });
}

/** A fixed-width text table of summaryRows, for the terminal. */
export function summaryTable(r: ReplayReport): string {
  const rows = summaryRows(r);
  const f = (x: number): string => x.toFixed(4);
  const head = ['method', 'events', 'Recall@10', 'NDCG@10', 'cold-item R@10', 'cold-item N@10'];
  const body = rows.map((x) => [x.method, String(x.events), f(x.recall10), f(x.ndcg10), f(x.coldRecall10), f(x.coldNdcg10)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const coldEvents = rows[0]?.coldEvents ?? 0;
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    `(cold item: fewer than ${(r.metrics[r.methods[0] as MethodName]?.coldThreshold ?? COLD_ITEM_THRESHOLD)} earlier interactions; ${coldEvents} events)`,
    `(operating point: ${describePoint(r.operatingPoint)})`,
  ].join('\n');
}

/** The score-time operating point in words (the table's settings). */
function describePoint(p: ReplayReport['operatingPoint']): string {
  const gate = p.coldMix || p.coldBoost ? `, LEARN cold gate (mix ${p.coldMix ?? 0}, boost ${p.coldBoost ?? 0}) fading out at ${p.coldGateK} interactions` : '';
  const slots = p.coldSlots
    ? `, ${p.coldSlots} of the top 10 reserved for items with fewer than ${p.coldSlotsBelow} interactions, filled by ${p.coldSlotsBy === 'cold-score' ? 'each method\'s score without the prior (LEARN: + the content cosine)' : 'each method\'s score'}`
    : '';
  return `popularity prior ${p.beta} for every history-based method, LEARN content weight ${p.contentWeight}${gate}${slots}`;
}

/**
 * The trade-off of every method under the grid of operating points, best overall Recall@10 first: beta (popularity
 * prior), content weight, overall Recall@10 / NDCG@10, cold-item and new-item Recall@10. Empty without a grid.
 */
export function operatingPointsTable(r: ReplayReport, top = 5): string {
  const out: string[] = [];
  for (const [m, points] of Object.entries(r.operatingPoints ?? {})) {
    const sorted = [...(points ?? [])].sort((a, b) => (b.overall.recall['10'] ?? 0) - (a.overall.recall['10'] ?? 0));
    out.push(`${m}: ${sorted.slice(0, top).map((p) => `beta ${p.beta} content ${p.contentWeight}${p.coldMix ? ` cold mix ${p.coldMix} (k ${p.coldGateK})` : ''}${p.coldBoost ? ` cold boost ${p.coldBoost} (k ${p.coldGateK})` : ''}${p.coldSlots ? ` cold slots ${p.coldSlots} (below ${p.coldSlotsBelow}, by ${p.coldSlotsBy ?? 'score'})` : ''}: R@10 ${fx(p.overall.recall['10'])} N@10 ${fx(p.overall.ndcg['10'])} cold R@10 ${fx(p.coldItem.recall['10'])}`).join('; ')}`);
  }
  return out.join('\n');
}

const fx = (x: number | undefined): string => (x ?? 0).toFixed(4);

const COLORS: Record<string, string> = { learn: '#d62728', sasrec: '#1f77b4', content: '#2ca02c', popularity: '#7f7f7f' };

function chartJsSource(): string {
  // The package exports no UMD subpath: find it beside the CommonJS entry (dist/chart.cjs).
  const path = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  // A closing script tag inside the bundle would end the inline script early.
  return readFileSync(path, 'utf8').replace(/<\/script/gi, '<\\/script');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function renderReportHtml(r: ReplayReport): string {
  const rows = summaryRows(r);
  const f = (x: number): string => x.toFixed(4);
  const metricKeys: Array<{ key: string; label: string; pick: (s: MetricSummary) => number }> = [
    ...['10', '20', '50'].map((k) => ({ key: `recall${k}`, label: `Recall@${k}`, pick: (s: MetricSummary) => s.recall[k] ?? 0 })),
    ...['10', '20'].map((k) => ({ key: `ndcg${k}`, label: `NDCG@${k}`, pick: (s: MetricSummary) => s.ndcg[k] ?? 0 })),
    { key: 'mrr', label: 'MRR', pick: (s: MetricSummary) => s.mrr },
  ];
  const first = r.metrics[r.methods[0] as MethodName];
  const windowLabels = (first?.windows ?? []).map((w) => new Date(w.start).toISOString().slice(0, 10));
  // Chart data, computed here so the page only draws.
  const overTime = metricKeys.map((mk) => ({
    id: `time-${mk.key}`,
    title: `${mk.label} per ${r.metrics[r.methods[0] as MethodName]?.window.by === 'time' ? 'event-time window' : 'window'}`,
    labels: windowLabels,
    datasets: r.methods.map((m) => {
      const byIndex = new Map((r.metrics[m]?.windows ?? []).map((w) => [w.start, w]));
      return { label: m, color: COLORS[m] ?? '#000', data: (first?.windows ?? []).map((w) => { const x = byIndex.get(w.start); return x ? mk.pick(x) : null; }) };
    }),
  }));
  const sliceCharts = [
    { key: 'recall10', label: 'Recall@10', pick: (s: MetricSummary) => s.recall['10'] ?? 0 },
    { key: 'ndcg10', label: 'NDCG@10', pick: (s: MetricSummary) => s.ndcg['10'] ?? 0 },
  ].map((mk) => ({
    id: `slices-${mk.key}`,
    title: `${mk.label} by slice`,
    labels: ['overall (' + String(first?.overall.events ?? 0) + ')', ...SLICES.map((s) => `${s} (${first?.slices[s].events ?? 0})`)],
    datasets: r.methods.map((m) => {
      const mr = r.metrics[m];
      return { label: m, color: COLORS[m] ?? '#000', data: mr ? [mk.pick(mr.overall), ...SLICES.map((s) => mk.pick(mr.slices[s]))] : [] };
    }),
  }));
  const bucketLabel = (le: number | null, prev: number | null): string => (le === null ? `> ${fmtMs(prev ?? 0)}` : `<= ${fmtMs(le)}`);
  const latencyCharts = [
    { id: 'latency-content', title: 'Freshness: listing produced -> item content in the trainer', s: r.freshness.listingToContent, color: '#9467bd' },
    { id: 'latency-trained', title: 'Freshness: event produced -> trained', s: r.freshness.eventToTrained, color: '#ff7f0e' },
  ].map((c) => ({
    id: c.id,
    title: `${c.title} (n=${c.s.count}, p50 ${fmtMs(c.s.p50Ms)}, p90 ${fmtMs(c.s.p90Ms)}, p99 ${fmtMs(c.s.p99Ms)})`,
    labels: c.s.buckets.map((b, i) => bucketLabel(b.le, c.s.buckets[i - 1]?.le ?? null)),
    datasets: [{ label: 'count', color: c.color, data: c.s.buckets.map((b) => b.count) }],
  }));
  const lossChart = {
    id: 'loss',
    title: 'Training loss (all-action InfoNCE) by events trained',
    labels: r.lossCurve.map((p) => String(p.eventsTrained)),
    datasets: [
      { label: 'learn', color: COLORS['learn'] as string, data: r.lossCurve.map((p) => p.learn) },
      ...(r.methods.includes('sasrec') ? [{ label: 'sasrec', color: COLORS['sasrec'] as string, data: r.lossCurve.map((p) => p.sasrec ?? null) }] : []),
    ],
  };
  const tradeoff = r.operatingPoints
    ? [{
        id: 'tradeoff',
        title: 'Operating points: overall Recall@10 (x) against cold-item Recall@10 (y), one point per popularity prior / content weight',
        datasets: Object.entries(r.operatingPoints).map(([m, pts]) => ({ label: m, color: COLORS[m] ?? '#000', data: (pts ?? []).map((p) => ({ x: p.overall.recall['10'] ?? 0, y: p.coldItem.recall['10'] ?? 0 })) })),
      }]
    : [];
  const charts = { line: [...overTime, lossChart], bar: [...sliceCharts, ...latencyCharts], scatter: tradeoff };
  const fallback = Object.entries(r.fallbackEvents).map(([m, n]) => `${esc(m)}: ${n}`).join(', ');
  const canvas = (c: { id: string }): string => `<div class="chart"><canvas id="${c.id}" width="560" height="300"></canvas></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>learn replay ${esc(r.run)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}.chart{border:1px solid #eee;padding:8px;height:320px;position:relative}
.note{color:#555;font-size:14px;max-width:1100px}
</style></head><body>
<h1>Event-replay evaluation: ${esc(r.dataset)}</h1>
<p class="note">Run <code>${esc(r.run)}</code>, started ${esc(r.startedAt)}, ${r.wallSeconds} s wall. Speed ${r.speed === 0 ? 'as fast as possible' : `${r.speed}x`}${r.limit !== null ? `, first ${r.limit} events` : ''}.
Produced ${r.produced.listings} listings and ${r.produced.events} events; ${r.itemsEncoded} items encoded, ${r.eventsTrained} events trained, ${r.deadLettered.events} events dead-lettered; ${r.trainerSteps} optimizer steps over ${r.windows} windows.
Model: content ${r.model.contentDim}-d, PAL d=${r.model.dim}, ${r.model.layers} layer(s), ${r.model.heads} heads, out ${r.model.outDim}; history ${r.model.historyLen}; ${r.model.batchUsers} users per window; backend ${esc(r.model.backend)}.</p>
<p class="note">Test-then-train: every event is ranked before any model learns from its window, among every item listed so far (items with a content vector), excluding the user's earlier items; Recall@K, NDCG@K, MRR.
Users with no history yet are ranked by <b>${esc(r.coldUserFallback)}</b> in every history-based method (events: ${fallback || 'none'}).
Slices overlap: coldItem = fewer than ${first?.coldThreshold ?? COLD_ITEM_THRESHOLD} earlier interactions with the item, newItem = none, coldUser = fewer than ${first?.coldThreshold ?? COLD_ITEM_THRESHOLD} earlier user events, warm = neither cold.</p>
<table id="summary"><thead><tr><th>method</th><th>events</th><th>Recall@10</th><th>NDCG@10</th><th>cold-item Recall@10</th><th>cold-item NDCG@10</th></tr></thead><tbody>
${rows.map((x) => `<tr><td>${esc(x.label)}</td><td>${x.events}</td><td>${f(x.recall10)}</td><td>${f(x.ndcg10)}</td><td>${f(x.coldRecall10)}</td><td>${f(x.coldNdcg10)}</td></tr>`).join('\n')}
</tbody></table>
<h2>Metrics over time</h2><div class="grid">${overTime.map(canvas).join('')}</div>
<h2>Cold and warm slices</h2><div class="grid">${sliceCharts.map(canvas).join('')}</div>
<h2>Freshness during the replay</h2><div class="grid">${latencyCharts.map(canvas).join('')}</div>
<h2>Training</h2><div class="grid">${canvas(lossChart)}</div>
<p class="note">Protocol: ${r.protocol.warmStart ? `warm start (the first ${Math.round(r.protocol.warmStart.fraction * 100)}% of the events pretrain every learned method for ${r.protocol.warmStart.epochs} epochs, unscored)` : 'pure streaming from an empty system'}; weights after go-live: ${esc(r.protocol.updates)}; path: ${esc(r.path)}.
Operating point of the table: ${esc(describePoint(r.operatingPoint))}.
Time: encode ${r.timings.encode} s, LEARN training ${r.timings.train} s, SASRec-like training ${r.timings.idTrain} s${r.timings.idThread ? ' (in its own thread, beside the rest)' : ''}, scoring ${r.timings.score} s, Kafka I/O and waiting ${r.timings.other} s.</p>
${tradeoff.length > 0 ? `<h2>Trade-off: overall against cold items</h2><div class="grid">${tradeoff.map(canvas).join('')}</div>` : ''}
<script>${chartJsSource()}</script>
<script>
const CHARTS = ${JSON.stringify(charts).replace(/</g, '\\u003c')};
window.__charts = [];
function draw(kind, c) {
  const chart = new Chart(document.getElementById(c.id), {
    type: kind,
    data: { labels: c.labels, datasets: c.datasets.map((d) => ({ label: d.label, data: d.data, borderColor: d.color, backgroundColor: d.color, pointRadius: kind === 'line' ? 2 : 0, spanGaps: true })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { title: { display: true, text: c.title } }, scales: { y: { beginAtZero: true } } },
  });
  window.__charts.push(chart);
}
CHARTS.line.forEach((c) => draw('line', c));
CHARTS.bar.forEach((c) => draw('bar', c));
CHARTS.scatter.forEach((c) => {
  const chart = new Chart(document.getElementById(c.id), {
    type: 'scatter',
    data: { datasets: c.datasets.map((d) => ({ label: d.label, data: d.data, borderColor: d.color, backgroundColor: d.color })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { title: { display: true, text: c.title } }, scales: { x: { title: { display: true, text: 'overall Recall@10' } }, y: { title: { display: true, text: 'cold-item Recall@10' }, beginAtZero: true } } },
  });
  window.__charts.push(chart);
});
window.__chartsReady = window.__charts.length;
</script>
</body></html>
`;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}
