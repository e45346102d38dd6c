import type { VectorKind } from './keys.js';

/** A write held while Redis is away: a vector of one version, or one user-item interaction. */
export type PendingOp =
  | { type: 'vector'; version: number; kind: VectorKind; id: string; eventTime: number; order: number; bytes: Buffer }
  | { type: 'seen'; userId: string; itemId: string; eventTime: number };

export interface PendingLimits {
  /** Most distinct keys held. */
  maxKeys: number;
  /** Most bytes held (vector bytes plus ids, roughly). */
  maxBytes: number;
  /** Fraction of either limit past which `overHighWater()` says to pause the producer of writes. */
  highWater: number;
}

export type Offer = 'held' | 'superseded';

const OVERHEAD_BYTES = 96;

function keyOf(op: PendingOp): string {
  return op.type === 'vector' ? `v\u0000${op.version}\u0000${op.kind}\u0000${op.id}` : `s\u0000${op.userId}\u0000${op.itemId}`;
}

/** What decides which of two writes of one key is newer: the write order of a vector, the event time of an interaction. */
function rankOf(op: PendingOp): number {
  return op.type === 'vector' ? op.order : op.eventTime;
}

function sizeOf(op: PendingOp): number {
  return op.type === 'vector' ? op.bytes.length + op.id.length * 2 + OVERHEAD_BYTES : (op.userId.length + op.itemId.length) * 2 + OVERHEAD_BYTES;
}

/**
 * Writes that could not reach Redis, one per key, newest write order winning (the same rule as the write
 * script), so memory is bounded by distinct keys and capped by `limits`. A batch either fits whole or is
 * refused, so a caller never has half a batch acknowledged.
 */
export class PendingBuffer {
  private readonly ops = new Map<string, PendingOp>();
  private bytes = 0;

  constructor(readonly limits: PendingLimits) {}

  get size(): number {
    return this.ops.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  overHighWater(): boolean {
    return this.ops.size >= this.limits.maxKeys * this.limits.highWater || this.bytes >= this.limits.maxBytes * this.limits.highWater;
  }

  /** Whether all of `ops` fit under the hard limits (replacing a held key costs only the size difference). */
  fits(ops: readonly PendingOp[]): boolean {
    let keys = this.ops.size;
    let bytes = this.bytes;
    const seen = new Set<string>();
    for (const op of ops) {
      const k = keyOf(op);
      const held = this.ops.get(k);
      if (held === undefined && !seen.has(k)) keys++;
      seen.add(k);
      bytes += sizeOf(op) - (held ? sizeOf(held) : 0);
    }
    return keys <= this.limits.maxKeys && bytes <= this.limits.maxBytes;
  }

  /** Holds `op` unless a newer-or-equal write (write order; event time for an interaction) is already held for its key. */
  offer(op: PendingOp): Offer {
    const k = keyOf(op);
    const held = this.ops.get(k);
    if (held && rankOf(held) >= rankOf(op)) return 'superseded';
    this.bytes += sizeOf(op) - (held ? sizeOf(held) : 0);
    this.ops.set(k, op);
    return 'held';
  }

  /** Up to `n` held writes, oldest first, left in place until `settle`. */
  peek(n: number): PendingOp[] {
    const out: PendingOp[] = [];
    for (const op of this.ops.values()) {
      if (out.length >= n) break;
      out.push(op);
    }
    return out;
  }

  /** Drops `op` once Redis has it, unless a newer write replaced it meanwhile (that one stays for the next round). */
  settle(op: PendingOp): void {
    const k = keyOf(op);
    if (this.ops.get(k) !== op) return;
    this.ops.delete(k);
    this.bytes -= sizeOf(op);
  }
}
