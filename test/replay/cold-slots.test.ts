import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/model/index.js';
import { rankWithColdSlots, SLOT_LIST_SIZE } from '../../src/replay/cold-slots.js';

// Pure logic: the reserved places, checked against the list built out in full.

/** The whole list, built the obvious way: the target after everything scored equal to it (pessimistic ties). */
function bruteForce(scores: number[], target: number, excluded: Uint8Array, cold: boolean[], slots: number, slotScores = scores): number {
  const by = (s: number[]) => (a: number, b: number) => s[b]! - s[a]! || (a === target ? 1 : b === target ? -1 : a - b);
  const order = scores
    .map((s, j) => j)
    .filter((j) => j === target || excluded[j] !== 1)
    .sort(by(scores));
  const open = order.slice(0, SLOT_LIST_SIZE - slots);
  const rest = order.slice(SLOT_LIST_SIZE - slots);
  const slotted = rest.filter((j) => cold[j]).sort(by(slotScores)).slice(0, slots);
  const list = [...open, ...slotted, ...rest.filter((j) => !slotted.includes(j))];
  return list.indexOf(target) + 1;
}

test('a target in the open places keeps its rank; a cold one past them takes a slot; others move down by the slot items promoted over them', () => {
  // Scores 10 (index 0) down to 1 (index 9), then 0.5 ... for 20 candidates; odd indices from 12 on are cold.
  const scores = Array.from({ length: 20 }, (_, j) => 20 - j);
  const cold = scores.map((_, j) => j >= 12 && j % 2 === 1);
  const none = new Uint8Array(20);
  const rank = (target: number, slots: number): number => rankWithColdSlots((j) => scores[j]!, 20, target, none, (j) => cold[j]!, slots);
  assert.equal(rank(3, 2), 4, 'in the first 8: unchanged');
  assert.equal(rank(15, 2), 10, 'the second-best cold item (13 is first) takes the last slot');
  assert.equal(rank(17, 2), 18, 'a cold item past the slots keeps its rank');
  assert.equal(rank(9, 2), 12, 'rank 10, and both slot items (13, 15) scored below it: 2 down');
  assert.equal(rank(12, 2), 15, 'rank 13, 13 and 15 promoted over it');
  assert.equal(rank(15, 0), 16, 'no slots: the plain rank');
  // A NaN candidate ranks below every number: it takes neither an open place nor a slot ahead of a scored item.
  const withNaN = [Number.NaN, ...scores.slice(1)];
  const coldNaN = withNaN.map((_, j) => j === 0 || j === 19);
  assert.equal(rankWithColdSlots((j) => withNaN[j]!, 20, 19, none, (j) => coldNaN[j]!, 2), 9, 'the scored cold item takes the first slot');
  assert.equal(rankWithColdSlots((j) => withNaN[j]!, 20, 9, none, (j) => coldNaN[j]!, 2), 11, 'the open places are 1-8, both cold items (NaN last) are slotted ahead of 9');
});

test('matches the list built out in full, on random scores with ties, exclusions and any number of slots', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 400; trial++) {
    const n = 5 + rng.int(40);
    const scores = Array.from({ length: n }, () => rng.int(12) / 4);
    const cold = scores.map(() => rng.next() < 0.3);
    const excluded = Uint8Array.from(scores, () => (rng.next() < 0.15 ? 1 : 0));
    const target = rng.int(n);
    const slots = rng.int(5);
    const got = rankWithColdSlots((j) => scores[j]!, n, target, excluded, (j) => cold[j]!, slots);
    assert.equal(got, bruteForce(scores, target, excluded, cold, slots), JSON.stringify({ trial, scores, cold, excluded: [...excluded], target, slots }));
    // The slots filled by a score of their own (e.g. without the prior).
    const slotScores = scores.map(() => rng.int(6) / 2);
    const own = rankWithColdSlots((j) => scores[j]!, n, target, excluded, (j) => cold[j]!, slots, (j) => slotScores[j]!);
    assert.equal(own, bruteForce(scores, target, excluded, cold, slots, slotScores), JSON.stringify({ trial, scores, slotScores, cold, excluded: [...excluded], target, slots }));
  }
});
