// The replay's methods by name. A new method: its file in this folder, implementing ReplayMethod, and one line here.
import type { Logger } from 'pino';
import { FrozenContentMethod } from './frozen-content.js';
import { ItemKnnMethod } from './knn.js';
import { LearnMethod } from './learn.js';
import type { ReplayMethod } from './method.js';
import { PopularityMethod } from './popularity.js';
import { SasRecMethod } from './sasrec.js';
import type { ServedItemsSchedule } from '../served-items.js';

/** What a method may need to be built: the replay's catalogue size, seed, and the trainer's schedule. */
export interface MethodSettings {
  /** Items of the replayed data set (e.g. the rows of an ID embedding table). */
  catalogueSize: number;
  seed: number;
  stepsPerBatch: number;
  rehearsal: { windows: number; samples: number };
  /** LEARN scores with item vectors as stale as serving's, on this schedule (absent: the newest weights'). */
  staleItems?: ServedItemsSchedule;
  log: Logger;
}

interface MethodEntry {
  label: string;
  create: (s: MethodSettings) => ReplayMethod;
}

const FACTORIES = {
  learn: { label: LearnMethod.label, create: (s) => new LearnMethod(s.staleItems) },
  sasrec: {
    label: SasRecMethod.label,
    create: (s) => new SasRecMethod({ capacity: s.catalogueSize, seed: s.seed, stepsPerBatch: s.stepsPerBatch, rehearsal: s.rehearsal, log: s.log }),
  },
  content: { label: FrozenContentMethod.label, create: () => new FrozenContentMethod() },
  popularity: { label: PopularityMethod.label, create: () => new PopularityMethod() },
  knn: { label: ItemKnnMethod.label, create: () => new ItemKnnMethod() },
} satisfies Record<string, MethodEntry>;

export type MethodName = keyof typeof FACTORIES;
export const METHODS = Object.keys(FACTORIES) as MethodName[];

export const METHOD_LABELS = Object.fromEntries(METHODS.map((m) => [m, FACTORIES[m].label])) as Record<MethodName, string>;

export function createMethod(name: MethodName, settings: MethodSettings): ReplayMethod {
  return FACTORIES[name].create(settings);
}

export function parseMethods(spec: string): MethodName[] {
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = names.filter((n) => !(METHODS as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--methods: expected a comma-separated subset of ${METHODS.join(',')}, got "${spec}"`);
  return [...new Set(names)] as MethodName[];
}

export type { EventScores, LearnContext, ReplayMethod, ScoringWindow } from './method.js';
