import type { KafkaMessage } from 'kafkajs';
import { defaultCodec, type UserEvent } from '../../src/codec/index.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { UserHistories } from '../../src/learner/histories.js';
import type { Rng } from '../../src/model/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import type { TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { header } from '../support/kafka.js';

// The fault matrix's per-event accounting. Every produced event has an identity (its event id, or the unique key of a
// message that cannot be decoded) and an expected fate: trained, or dead-lettered with a reason. What was trained is
// read per event from the final checkpoint's histories: each user's k-th event is on an item of its own and a user has
// at most LEARN_HISTORY_LEN events, so (user, item) names one event and a history holds every trained one, twice if
// trained twice. The checkpoint's count and order-free digest must agree with it.

/** Every reason a dead letter may carry (docs/operations.md, "Wire format and dead letters"). */
export const DLQ_REASONS = new Set([
  'too-short', 'bad-magic', 'unknown-fingerprint', 'wrong-record', 'truncated', 'trailing-bytes', 'malformed-body', 'oversize',
  'empty-text', 'encode-failed', 'non-finite-vector', 'bad-vector-size', 'no-content', 'unknown-event-type', 'bad-timestamp', 'bad-weight', 'missing-id',
]);

type Fate = { trained: true } | { reasons: string[] };

export interface MatrixRow {
  row: string;
  produced: number;
  trained: number;
  deadLettered: number;
  lost: number;
  trainedTwice: number;
  /** Produced events whose fate differs from the expected one (a good event dead-lettered, a bad one trained). */
  misrouted: string[];
  /** Dead letters without a known reason header. */
  withoutReason: number;
  /** Events still waiting for content in the final checkpoint. */
  waiting: number;
  /** Dead letters written more than once (a kill, or a failed chunk read again, between the send and the commit past it: at least once, by design). */
  dlqRepeats: number;
  note: string;
  wallS: number;
}

export class EventLedger {
  private readonly fates = new Map<string, Fate>();
  private readonly byPair = new Map<string, string>();
  private readonly goodIds: string[] = [];

  /** An event expected to be trained; its (user, item) must be new. */
  good(e: UserEvent): UserEvent {
    const pair = `${e.user_id}\u0000${e.item_id}`;
    if (this.byPair.has(pair)) throw new Error(`ledger: ${e.user_id} already has an event on ${e.item_id}`);
    this.byPair.set(pair, e.event_id);
    this.fates.set(e.event_id, { trained: true });
    this.goodIds.push(e.event_id);
    return e;
  }

  /** A message expected in the DLQ with one of `reasons`; `id` is its event id, or its key when it cannot be decoded. */
  bad(id: string, reasons: string[]): string {
    this.fates.set(id, { reasons });
    return id;
  }

  get produced(): number {
    return this.fates.size;
  }

  get goodCount(): number {
    return this.goodIds.length;
  }

  /** The row of one fault: counts from the final checkpoint and the DLQ, and what disagrees with the expected fates. */
  account(row: string, final: TrainerCheckpointState | undefined, letters: KafkaMessage[], eventsTopic: string, extra: { note: string; wallS: number }): MatrixRow {
    const trainedTimes = new Map<string, number>();
    let unknownTrained = 0;
    for (const [user, h] of final ? UserHistories.entriesOf(final.histories) : []) {
      if (h.events > h.items.length) throw new Error(`ledger: ${user} has ${h.events} events but a history of ${h.items.length} (raise LEARN_HISTORY_LEN)`);
      for (const item of h.items) {
        const id = this.byPair.get(`${user}\u0000${item}`);
        if (id === undefined) unknownTrained++;
        else trainedTimes.set(id, (trainedTimes.get(id) ?? 0) + 1);
      }
    }
    const codec = defaultCodec();
    const dead = new Map<string, string>();
    const sources = new Map<string, number>();
    let withoutReason = 0;
    for (const m of letters) {
      const reason = header(m.headers, DLQ_HEADERS.reason);
      if (reason === undefined || !DLQ_REASONS.has(reason)) withoutReason++;
      if (header(m.headers, DLQ_HEADERS.sourceTopic) !== eventsTopic) continue;
      const where = `${header(m.headers, DLQ_HEADERS.sourcePartition)}/${header(m.headers, DLQ_HEADERS.sourceOffset)}`;
      sources.set(where, (sources.get(where) ?? 0) + 1);
      dead.set(identityOf(m, codec), reason ?? '?');
    }
    const waitingIds = new Set((final?.waiting ?? []).map((w) => w.event.event_id));
    let lost = 0;
    const misrouted: string[] = [];
    for (const [id, fate] of this.fates) {
      const trained = trainedTimes.has(id);
      const reason = dead.get(id);
      if (!trained && reason === undefined && !waitingIds.has(id)) lost++;
      if ('trained' in fate && reason !== undefined) misrouted.push(`${id}: expected trained, dead-lettered ${reason}`);
      if ('reasons' in fate && trained) misrouted.push(`${id}: expected ${fate.reasons.join('|')}, trained`);
      if ('reasons' in fate && reason !== undefined && !fate.reasons.includes(reason)) misrouted.push(`${id}: expected ${fate.reasons.join('|')}, dead-lettered ${reason}`);
    }
    const distinctTrained = trainedTimes.size;
    const entries = [...trainedTimes].flatMap(([id, k]) => Array.from({ length: k }, () => id));
    let twice = unknownTrained + entries.length - distinctTrained;
    for (const id of trainedTimes.keys()) if (dead.has(id)) twice++;
    // The checkpoint's own count and digest must say the same: a repeat the histories cannot show still counts.
    if (final && (final.eventsTrained !== entries.length + unknownTrained || final.digest !== digestOf(entries).toString(16))) {
      twice = Math.max(twice, final.eventsTrained - distinctTrained, 1);
    }
    return {
      row,
      produced: this.produced,
      trained: distinctTrained,
      deadLettered: dead.size,
      lost,
      trainedTwice: twice,
      misrouted,
      withoutReason,
      waiting: waitingIds.size,
      dlqRepeats: [...sources.values()].reduce((n, k) => n + (k - 1), 0),
      ...extra,
    };
  }
}

function identityOf(m: KafkaMessage, codec: ReturnType<typeof defaultCodec>): string {
  try {
    if (m.value) return codec.decode('UserEvent', m.value).event_id;
  } catch {
    // undecodable: its key is its identity
  }
  return m.key?.toString() ?? '?';
}

/**
 * `users` x `perUser` events, each user's k-th on an item of its own among `items` (round-robin over users, event
 * times rising from `ts0`), all recorded as good in the ledger. Needs perUser <= LEARN_HISTORY_LEN and perUser * step < items.
 */
export function distinctPairEvents(ledger: EventLedger, o: { prefix: string; users: number; perUser: number; items: number; ts0: number; rng: Rng; itemId: (i: number) => string }): UserEvent[] {
  const step = Math.floor(o.items / o.perUser);
  if (step < 1) throw new Error('distinctPairEvents: fewer items than events per user');
  const offsets = Array.from({ length: o.users }, () => o.rng.int(o.items));
  const out: UserEvent[] = [];
  for (let k = 0; k < o.perUser; k++) {
    for (let u = 0; u < o.users; u++) {
      const i = out.length;
      out.push(
        ledger.good({
          event_id: `${o.prefix}-e${i}`,
          user_id: `${o.prefix}-u${u}`,
          item_id: o.itemId((offsets[u]! + k * step) % o.items),
          type: i % 5 === 0 ? 'purchase' : 'click',
          ts: o.ts0 + i * 1000,
          weight: null,
        }),
      );
    }
  }
  return out;
}

/** The matrix as a Markdown table (what docs/operations.md shows). */
export function matrixTable(rows: MatrixRow[]): string {
  const lines = [
    '| fault | produced | trained | dead-lettered | lost | trained twice | notes | wall s |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const repeats = r.dlqRepeats > 0 ? `; ${r.dlqRepeats} dead letters written twice, after a kill or a chunk read again (the DLQ is at least once)` : '';
      const wrong = r.misrouted.length > 0 ? `; **${r.misrouted.length} not where they belong**, e.g. ${r.misrouted[0]}` : '';
      return `| ${r.row} | ${r.produced} | ${r.trained} | ${r.deadLettered} | ${r.lost} | ${r.trainedTwice} | ${r.note}${repeats}${wrong} | ${r.wallS} |`;
    }),
  ];
  return lines.join('\n');
}
