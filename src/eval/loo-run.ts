// `learn eval loo`: the leave-one-out protocol run for every method and seed. Per stage (an epoch of a learned
// method, a setting of item-kNN) the validation items are ranked under every operating point (the replay's prior
// grid, and for LEARN its content weights); the best point's validation NDCG@10 picks the stage, and the test items
// are ranked at that stage and point. Learned methods stop after `patience` epochs without a better validation.
import type { ItemListing } from '../codec/records.js';
import type { Config } from '../config/load.js';
import { loadSequences } from '../data/dataset.js';
import { toItemContent } from '../encoder/index.js';
import { cachedContent } from '../replay/content-cache.js';
import { ContentTable } from '../learner/content-table.js';
import { Rng, selectBackend } from '../model/index.js';
import { log } from '../ops/logger.js';
import { CONTENT_WEIGHT_GRID, PRIOR_GRID } from '../replay/operating-points.js';
import { itemSpaceReport, uniSRecCategory, type ItemSpaceReport, type NeighbourTruth } from './item-space.js';
import { LOO_LABELS, contentMatrix, contentScores, looMethod, type LooKind, type LooMethodName, type NextItemExample } from './loo-methods.js';
import { looMetrics, looSplit, nextItemExamples, phaseHistory, rankOf, spread, type LooMetrics, type LooUser, type Spread } from './loo.js';

export interface LooOptions {
  dataset: string;
  methods: readonly LooMethodName[];
  seeds: readonly number[];
  maxEpochs: number;
  patience: number;
  onProgress?: (p: { method: LooMethodName; seed: number; stage: number; valid: number; best: number }) => void;
}

/** A score-time point: + beta x the popularity prior + gamma x the frozen content's cosine (gamma: LEARN only). */
export interface LooPoint {
  beta: number;
  gamma: number;
}

export interface LooSeedResult {
  seed: number;
  /** 1-based stage picked on validation (the epoch, or the item-kNN setting's place in its grid). */
  stage: number;
  stagesRun: number;
  setting: Record<string, number>;
  point: LooPoint;
  valid: LooMetrics;
  test: LooMetrics;
  /** Spread and neighbour quality of the item vectors at the picked stage (methods with item vectors). */
  itemSpace?: ItemSpaceReport;
  seconds: number;
}

export interface LooMethodReport {
  label: string;
  seeds: LooSeedResult[];
  test: Record<'recall10' | 'recall20' | 'ndcg10' | 'ndcg20', Spread>;
}

export interface LooReport {
  dataset: string;
  users: number;
  items: number;
  trainingExamples: number;
  maxEpochs: number;
  patience: number;
  seeds: number[];
  encoder: string;
  /** The frozen content vectors' spread and neighbour quality: what every learned item tower starts from. */
  contentItemSpace: ItemSpaceReport;
  methods: Partial<Record<LooMethodName, LooMethodReport>>;
  seconds: { encode: number; total: number };
}

/** What one phase ranks: each user's history and target, the prior and the frozen content's cosines. */
interface Phase {
  histories: string[][];
  targets: number[];
  prior: Float32Array;
  content: Float32Array[];
}

/** The points a method is ranked under: the replay's prior grid, and for LEARN its content weights too. */
export function looPoints(kind: LooKind): LooPoint[] {
  if (kind === 'popularity') return [{ beta: 1, gamma: 0 }];
  return PRIOR_GRID.flatMap((beta) => (kind === 'content' ? CONTENT_WEIGHT_GRID : [0]).map((gamma) => ({ beta, gamma })));
}

/** Ranks of every user's target at a point. */
export function pointRanks(base: readonly Float32Array[], phase: Phase, p: LooPoint): number[] {
  const n = phase.prior.length;
  const row = new Float32Array(n);
  return base.map((b, u) => {
    const c = phase.content[u] as Float32Array;
    for (let j = 0; j < n; j++) row[j] = (b[j] as number) + p.beta * (phase.prior[j] as number) + (p.gamma === 0 ? 0 : p.gamma * (c[j] as number));
    return rankOf(row, phase.targets[u] as number);
  });
}

/** log(1 + count) / log(1 + the largest count) of each catalogue item over the histories: the replay's prior, undecayed. */
export function popularityPrior(histories: readonly (readonly string[])[], index: ReadonlyMap<string, number>, n: number): Float32Array {
  const counts = new Float32Array(n);
  for (const h of histories) for (const id of h) {
    const i = index.get(id);
    if (i !== undefined) counts[i] = (counts[i] as number) + 1;
  }
  const top = Math.log1p(Math.max(1, ...counts));
  return counts.map((c) => Math.log1p(c) / top);
}

/**
 * What item neighbours are checked against: each catalogue item's category (the listing's, else the UniSRec text's
 * category field), and each user's held-back (validation item, test item) pair, which no stage trains on.
 */
export function neighbourTruth(listings: readonly ItemListing[], users: readonly LooUser[], index: ReadonlyMap<string, number>, catalogue: readonly string[]): NeighbourTruth {
  const byId = new Map(listings.map((li) => [li.item_id, li]));
  const labels = catalogue.map((id) => {
    const li = byId.get(id);
    return li ? (li.category ?? uniSRecCategory(li.title)) : undefined;
  });
  const pairs = users.flatMap((u): [number, number][] => {
    const a = index.get(u.valid);
    const b = index.get(u.test);
    return a !== undefined && b !== undefined && a !== b ? [[a, b]] : [];
  });
  return { labels, pairs };
}

export async function runLoo(cfg: Config, opts: LooOptions): Promise<LooReport> {
  const l = log('eval.loo');
  const started = performance.now();
  await selectBackend(cfg.tfBackend);
  const data = await loadSequences(opts.dataset, cfg);
  const content = new ContentTable();
  const encoded = await cachedContent(cfg, data.listings);
  for (const [id, v] of encoded.vectors) content.apply(id, toItemContent(id, '', encoded.modelId, v));
  const encodeSeconds = (performance.now() - started) / 1000;
  // The catalogue: every item with content, in listing order. A target without content is a miss for every method.
  const catalogue = data.listings.map((li) => li.item_id).filter((id) => content.has(id));
  const index = new Map(catalogue.map((id, i) => [id, i]));
  const users: LooUser[] = looSplit(data.users);
  const phase = (p: 'valid' | 'test'): Phase => {
    const histories = users.map((u) => phaseHistory(u, p));
    return {
      histories,
      targets: users.map((u) => index.get(p === 'valid' ? u.valid : u.test) ?? -1),
      prior: popularityPrior(histories, index, catalogue.length),
      content: contentScores({ content, catalogue }, histories),
    };
  };
  const valid = phase('valid');
  const test = phase('test');
  const examples: NextItemExample[] = nextItemExamples(users, cfg.historyLen);
  const truth = neighbourTruth(data.listings, users, index, catalogue);
  const contentItemSpace = itemSpaceReport(contentMatrix({ content, catalogue }), truth);
  l.info({ users: users.length, items: catalogue.length, examples: examples.length, encodeSeconds: Math.round(encodeSeconds) }, 'leave-one-out data ready');

  const report: LooReport = {
    dataset: opts.dataset,
    users: users.length,
    items: catalogue.length,
    trainingExamples: examples.length,
    maxEpochs: opts.maxEpochs,
    patience: opts.patience,
    seeds: [...opts.seeds],
    encoder: encoded.modelId,
    contentItemSpace,
    methods: {},
    seconds: { encode: Math.round(encodeSeconds), total: 0 },
  };
  for (const name of opts.methods) {
    const seeds: LooSeedResult[] = [];
    for (const seed of opts.seeds) {
      const t0 = performance.now();
      const method = looMethod(name, { cfg, content, catalogue, seed }, opts.maxEpochs);
      const rng = new Rng(seed ^ 0x100);
      const points = looPoints(method.kind);
      let best: Omit<LooSeedResult, 'seed' | 'seconds' | 'stagesRun'> | undefined;
      let bestScore = -1;
      let stale = 0;
      let s = 0;
      try {
        for (; s < method.stages; s++) {
          method.stage(s, examples, rng);
          const base = method.scores(valid.histories);
          let top = { point: points[0] as LooPoint, ranks: [] as number[], score: -1 };
          for (const p of points) {
            const ranks = pointRanks(base, valid, p);
            const score = looMetrics(ranks).ndcg10;
            if (score > top.score) top = { point: p, ranks, score };
          }
          opts.onProgress?.({ method: name, seed, stage: s + 1, valid: top.score, best: Math.max(bestScore, top.score) });
          if (top.score > bestScore) {
            bestScore = top.score;
            stale = 0;
            best = { stage: s + 1, setting: method.describe(), point: top.point, valid: looMetrics(top.ranks), test: looMetrics(pointRanks(method.scores(test.histories), test, top.point)) };
            const items = method.itemMatrix?.();
            if (items) best.itemSpace = itemSpaceReport(items, truth);
          } else if (method.trains && ++stale >= opts.patience) {
            s++;
            break;
          }
        }
      } finally {
        method.dispose();
      }
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      seeds.push({ seed, stagesRun: Math.min(s, method.stages), seconds, ...(best as NonNullable<typeof best>) });
      l.info({ method: name, seed, stage: best?.stage, point: best?.point, test: best?.test, itemSpace: best?.itemSpace, seconds }, 'leave-one-out method done');
    }
    const of = (k: keyof LooMetrics): Spread => spread(seeds.map((r) => r.test[k]));
    report.methods[name] = { label: LOO_LABELS[name], seeds, test: { recall10: of('recall10'), recall20: of('recall20'), ndcg10: of('ndcg10'), ndcg20: of('ndcg20') } };
  }
  report.seconds.total = Math.round((performance.now() - started) / 1000);
  return report;
}

/** The report as a Markdown table: test metrics, mean ± sd over seeds, and what validation picked. */
export function looTable(r: LooReport): string {
  const f = (s: Spread): string => (r.seeds.length > 1 ? `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)}` : s.mean.toFixed(4));
  const rows = Object.entries(r.methods).map(([, m]) => {
    const picked = m.seeds.map((s) => `${s.stage}/${s.stagesRun} β${s.point.beta}${s.point.gamma ? ` γ${s.point.gamma}` : ''}`).join(', ');
    return `| ${m.label} | ${f(m.test.recall10)} | ${f(m.test.ndcg10)} | ${f(m.test.recall20)} | ${f(m.test.ndcg20)} | ${picked} |`;
  });
  return ['| method | Recall@10 | NDCG@10 | Recall@20 | NDCG@20 | stage picked / run, point (per seed) |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The item vectors' spread and neighbour quality as a Markdown table: the frozen content, then each method's seeds. */
export function itemSpaceTable(r: LooReport): string {
  const row = (label: string, s: ItemSpaceReport): string =>
    `| ${label} | ${s.meanPairCosine.toFixed(3)} | ${s.firstDirectionShare.toFixed(3)} | ${s.firstComponentShare.toFixed(3)} | ${s.neighbourCosine.toFixed(3)} | ${s.categoryAgreement.toFixed(3)} (chance ${s.categoryBaseRate.toFixed(3)}) | ${s.nextItemHit.toFixed(4)} |`;
  const rows = [row('Frozen content', r.contentItemSpace)];
  for (const m of Object.values(r.methods)) for (const s of m.seeds) if (s.itemSpace) rows.push(row(`${m.label}, seed ${s.seed}`, s.itemSpace));
  const k = r.contentItemSpace.k;
  return [
    `| item vectors | mean pair cosine | first direction share | first component share | cosine to ${k} nearest | category agreement@${k} | next item in ${k} nearest |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
