import type { UserEvent } from '../codec/index.js';
import { idTooLong } from '../codec/id-length.js';
import type { Config } from '../config/load.js';

/** Why an event cannot be learned from: the DLQ reason and a readable detail. */
export interface EventProblem {
  reason: 'unknown-event-type' | 'bad-timestamp' | 'bad-weight' | 'missing-id' | 'id-too-long';
  error: string;
}

/** Checks one event at the edge (the trainer role and the in-process replay alike); undefined when it is usable. */
export function eventProblem(e: UserEvent, cfg: Pick<Config, 'eventTypes' | 'maxFutureMs' | 'maxIdBytes'>, now = Date.now()): EventProblem | undefined {
  if (!cfg.eventTypes.includes(e.type)) return { reason: 'unknown-event-type', error: `event type "${e.type}" is not one of LEARN_EVENT_TYPES` };
  if (!Number.isFinite(e.ts) || e.ts < 0) return { reason: 'bad-timestamp', error: `negative or non-finite timestamp ${e.ts}` };
  if (e.ts > now + cfg.maxFutureMs) return { reason: 'bad-timestamp', error: `timestamp ${e.ts} is more than LEARN_MAX_FUTURE_MS in the future` };
  if (e.weight !== null && !Number.isFinite(e.weight)) return { reason: 'bad-weight', error: `non-finite weight ${e.weight}` };
  if (e.user_id.length === 0 || e.item_id.length === 0) return { reason: 'missing-id', error: 'empty user_id or item_id' };
  const tooLong = idTooLong('user_id', e.user_id, cfg.maxIdBytes) ?? idTooLong('item_id', e.item_id, cfg.maxIdBytes);
  if (tooLong) return { reason: 'id-too-long', error: tooLong };
  return undefined;
}
