import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type Admin, type ITopicConfig, type ITopicMetadata } from 'kafkajs';
import { z } from 'zod';
import { DEFAULTS, type Config } from '../config/load.js';
import { TOPICS_DIR } from '../config/paths.js';

// kafkajs is CommonJS and this enum is not visible as a named ESM export.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/** The four topics of the product; their definitions live in topics/<name>.json. */
export const TOPICS = {
  itemListings: DEFAULTS.topicItemListings,
  userEvents: DEFAULTS.topicUserEvents,
  itemContent: DEFAULTS.topicItemContent,
  dlq: DEFAULTS.topicDlq,
} as const;

const TopicSpecSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/),
  doc: z.string(),
  partitions: z.number().int().positive(),
  replicationFactor: z.number().int().positive(),
  key: z.string(),
  valueSchema: z.string(),
  config: z.record(z.string(), z.string()),
});
export type TopicSpec = z.infer<typeof TopicSpecSchema>;

export function loadTopicSpecs(dir = TOPICS_DIR): TopicSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const parsed = TopicSpecSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      if (!parsed.success) throw new Error(`${join(dir, f)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return parsed.data;
    });
}

export interface TopicReport {
  name: string;
  action: 'created' | 'exists' | 'altered' | 'differs';
  /** What differs from the spec and was left as it is (shrinking partitions or changing cleanup destroys data). */
  differences: string[];
  /** Spec settings changed on the existing topic (only those in ALTERABLE_CONFIGS), as `name: old -> new`. */
  altered: string[];
}

/**
 * Spec settings that `applyTopics` brings an existing topic to: they change how records written from now on are
 * handled and rewrite or drop nothing stored. (`message.timestamp.type`: the broker, not the producer, stamps events,
 * and the trainer's rehearsal gate reads those stamps.) Every other difference is only reported.
 */
export const ALTERABLE_CONFIGS: ReadonlySet<string> = new Set(['message.timestamp.type']);

/**
 * Creates missing topics, brings existing ones to the spec's ALTERABLE_CONFIGS, and reports, without changing them,
 * the other ways existing ones differ from their spec.
 */
export async function applyTopics(admin: Admin, specs: TopicSpec[], replicationOverride?: number): Promise<TopicReport[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) {
    await createTopicsReady(
      admin,
      missing.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        replicationFactor: replicationOverride ?? s.replicationFactor,
        configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
      })),
    );
  }
  const present = specs.filter((s) => existing.has(s.name));
  // Existing topics too: on a broker that has just started they may not have leaders yet.
  await waitForTopicLeaders(admin, present.map((s) => ({ name: s.name })));
  const differences = await describeDifferences(admin, present);
  const reports: TopicReport[] = [];
  for (const s of specs) {
    if (missing.includes(s)) {
      reports.push({ name: s.name, action: 'created', differences: [], altered: [] });
      continue;
    }
    const found = differences.get(s.name) ?? [];
    const alterable = found.filter((d) => ALTERABLE_CONFIGS.has(d.config ?? ''));
    if (alterable.length > 0) await alterTopicConfigs(admin, s.name, alterable);
    const kept = found.filter((d) => !alterable.includes(d)).map((d) => d.text);
    reports.push({
      name: s.name,
      action: kept.length > 0 ? 'differs' : alterable.length > 0 ? 'altered' : 'exists',
      differences: kept,
      altered: alterable.map((d) => `${d.config}: ${d.have ?? '(unset)'} -> ${d.want}`),
    });
  }
  return reports;
}

interface Difference {
  text: string;
  /** The config setting that differs (none for the partition count), what the topic has and what the spec wants. */
  config?: string;
  have?: string;
  want?: string;
}

async function describeDifferences(admin: Admin, specs: TopicSpec[]): Promise<Map<string, Difference[]>> {
  const out = new Map<string, Difference[]>();
  if (specs.length === 0) return out;
  const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(s.config) })),
  });
  for (const s of specs) {
    const diffs: Difference[] = [];
    const partitions = meta.topics.find((t) => t.name === s.name)?.partitions.length ?? 0;
    if (partitions !== s.partitions) diffs.push({ text: `partitions: ${partitions} (spec ${s.partitions})` });
    const entries = configs.resources.find((r) => r.resourceName === s.name)?.configEntries ?? [];
    for (const [name, want] of Object.entries(s.config)) {
      const have = entries.find((e) => e.configName === name)?.configValue;
      if (have !== want) diffs.push({ text: `${name}: ${have ?? '(unset)'} (spec ${want})`, config: name, have, want });
    }
    out.set(s.name, diffs);
  }
  return out;
}

/**
 * Sets `changes` on a topic. Kafka's AlterConfigs (kafkajs has no incremental form) replaces the topic's whole set
 * of overrides, so the overrides it has now are sent along unchanged.
 */
async function alterTopicConfigs(admin: Admin, topic: string, changes: Difference[]): Promise<void> {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  const overrides = new Map<string, string>();
  for (const e of described.resources[0]?.configEntries ?? []) {
    if (e.configSource === ConfigSource.TOPIC_CONFIG && !e.readOnly && e.configValue !== null) overrides.set(e.configName, e.configValue);
  }
  for (const c of changes) overrides.set(c.config!, c.want!);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [...overrides].map(([name, value]) => ({ name, value })) }],
  });
}

/** How long topic creation waits for every partition to have a leader before it fails. */
export const TOPIC_READY_TIMEOUT_MS = 60_000;

/**
 * The one way the product and its tests create topics: returns only once every partition of every topic has a
 * leader in the broker's metadata. (kafkajs's own `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
 * broker that has just started answers for a while after creating the topic.)
 */
export async function createTopicsReady(admin: Admin, topics: ITopicConfig[], timeoutMs = TOPIC_READY_TIMEOUT_MS): Promise<void> {
  if (topics.length === 0) return;
  await admin.createTopics({ waitForLeaders: false, topics });
  await waitForTopicLeaders(
    admin,
    topics.map((t) => ({ name: t.topic, partitions: t.numPartitions })),
    timeoutMs,
  );
}

/** A topic to wait for; without `partitions`, whatever partitions the metadata lists (at least one). */
export interface AwaitedTopic {
  name: string;
  partitions?: number;
}

/** Metadata errors that mean "not there yet" on a cold broker rather than a real failure. */
const NOT_READY_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_FOR_PARTITION']);

function isNotReady(e: unknown): boolean {
  for (let cur: unknown = e; cur instanceof Error; cur = cur.cause) {
    if (NOT_READY_ERRORS.has((cur as Error & { type?: unknown }).type as string)) return true;
  }
  return false;
}

/** What still lacks a leader, e.g. `t: 1 of 3 partitions listed`, `t/2: no leader`; empty when all is ready. */
export function missingLeaders(meta: ITopicMetadata[], topics: AwaitedTopic[]): string[] {
  const out: string[] = [];
  for (const t of topics) {
    const partitions = meta.find((m) => m.name === t.name)?.partitions ?? [];
    const want = t.partitions ?? 1;
    if (partitions.length < want) out.push(`${t.name}: ${partitions.length} of ${want} partitions listed`);
    for (const p of partitions) {
      if (p.leader < 0 || (p.partitionErrorCode ?? 0) !== 0) out.push(`${t.name}/${p.partitionId}: no leader`);
    }
  }
  return out;
}

/**
 * Polls the metadata (backoff 50 ms doubling to 1 s) until every partition of `topics` has a leader; fails after
 * `timeoutMs` naming what is missing. Other errors than "not there yet" fail at once.
 */
export async function waitForTopicLeaders(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  topics: AwaitedTopic[],
  timeoutMs = TOPIC_READY_TIMEOUT_MS,
): Promise<void> {
  if (topics.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let delayMs = 50;
  for (;;) {
    let missing: string[];
    try {
      missing = missingLeaders((await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) })).topics, topics);
    } catch (e) {
      if (!isNotReady(e)) throw e;
      missing = [`metadata: ${(e as Error).message}`];
    }
    if (missing.length === 0) return;
    if (Date.now() + delayMs > deadline) {
      throw new Error(`topics not ready after ${timeoutMs} ms (every partition needs a leader): ${missing.slice(0, 10).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, delayMs));
    delayMs = Math.min(delayMs * 2, 1_000);
  }
}

/** The topic names in force: topics/ defines the defaults, LEARN_TOPIC_* rename them (e.g. per tenant or test). */
export interface TopicNames {
  itemListings: string;
  userEvents: string;
  itemContent: string;
  dlq: string;
}

export function topicsFrom(cfg: Pick<Config, 'topicItemListings' | 'topicUserEvents' | 'topicItemContent' | 'topicDlq'>): TopicNames {
  return { itemListings: cfg.topicItemListings, userEvents: cfg.topicUserEvents, itemContent: cfg.topicItemContent, dlq: cfg.topicDlq };
}

/** The product topics under another prefix (`bench.1a2b.item-listings`, ...), created from the specs of topics/. */
export async function applyPrefixedTopics(admin: Admin, prefix: string, opts: { partitions?: number } = {}): Promise<TopicNames> {
  const names = prefixedTopicNames(prefix);
  const byDefault: Record<string, string> = {
    [TOPICS.itemListings]: names.itemListings,
    [TOPICS.userEvents]: names.userEvents,
    [TOPICS.itemContent]: names.itemContent,
    [TOPICS.dlq]: names.dlq,
  };
  const specs = loadTopicSpecs().flatMap((s) => (byDefault[s.name] ? [{ ...s, name: byDefault[s.name]!, ...(opts.partitions ? { partitions: opts.partitions } : {}) }] : []));
  await applyTopics(admin, specs);
  return names;
}

/** The product topics' names under another prefix: `<prefix>.item-listings`, `<prefix>.user-events`, ... */
export function prefixedTopicNames(prefix: string): TopicNames {
  return { itemListings: `${prefix}.item-listings`, userEvents: `${prefix}.user-events`, itemContent: `${prefix}.item-content`, dlq: `${prefix}.dlq` };
}

/** A config whose LEARN_TOPIC_* point at the given names. */
export function withTopics<C extends Config>(cfg: C, t: TopicNames): C {
  return { ...cfg, topicItemListings: t.itemListings, topicUserEvents: t.userEvents, topicItemContent: t.itemContent, topicDlq: t.dlq };
}
