import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { LOO_METHODS } from '../../src/eval/loo-methods.js';
import { itemSpaceTable, looPoints, looTable, pointRanks, popularityPrior, runLoo } from '../../src/eval/loo-run.js';

const dataDir = mkdtempSync(join(tmpdir(), 'loo-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('the prior is log(1 + count) / log(1 + the largest count); a point adds it and LEARN\'s content term', () => {
  const index = new Map([['a', 0], ['b', 1], ['c', 2]]);
  const prior = popularityPrior([['a', 'a', 'b'], ['a']], index, 3);
  assert.deepEqual([...prior].map((x) => Math.round(x * 1e6) / 1e6), [1, Math.round((Math.log(2) / Math.log(4)) * 1e6) / 1e6, 0]);
  const phase = { histories: [['a']], targets: [2], prior, content: [Float32Array.of(0, 0, 5)] };
  const base = [Float32Array.of(0.1, 0.2, 0.3)];
  assert.deepEqual(pointRanks(base, phase, { beta: 0, gamma: 0 }), [1]);
  assert.deepEqual(pointRanks(base, phase, { beta: 1, gamma: 0 }), [3], 'popular items pass the target');
  assert.deepEqual(pointRanks(base, phase, { beta: 1, gamma: 1 }), [1], 'its content cosine brings it back');
  assert.equal(looPoints('popularity').length, 1);
  assert.equal(looPoints('content').length, looPoints('history').length * 6);
});

test('every method runs the protocol end to end on the fixture with the real encoder, and the content is cached', async () => {
  const cfg = loadConfig({ ...process.env, LEARN_DATA_DIR: dataDir });
  const dataset = join(PROJECT_ROOT, 'test/fixtures/sequences');
  const report = await runLoo(cfg, { dataset, methods: LOO_METHODS, seeds: [1, 2], maxEpochs: 2, patience: 1 });
  assert.equal(report.users, 2);
  assert.equal(report.items, 4);
  assert.equal(report.trainingExamples, 1, "U1's training part a, b gives one example; U2's b alone none");
  for (const m of LOO_METHODS) {
    const r = report.methods[m];
    assert.ok(r, m);
    assert.equal(r.seeds.length, 2);
    for (const s of r.seeds) {
      assert.ok(s.stage >= 1 && s.stage <= s.stagesRun, `${m}: picked stage ${s.stage} of ${s.stagesRun}`);
      assert.equal(s.test.users, 2);
      assert.ok(s.test.recall10 === 1, `${m}: with 4 items every target is in the top 10`);
      // Methods with item vectors report their spread and neighbours at the picked stage; the others have none.
      const space = s.itemSpace;
      if (m === 'learn' || m === 'sasrec' || m === 'content') {
        assert.ok(space, `${m}: item space reported`);
        assert.equal(space.k, 3, 'k is capped at the other 3 items');
        assert.ok(space.meanPairCosine >= -1 && space.meanPairCosine <= 1);
        assert.ok(space.firstDirectionShare > 0 && space.firstDirectionShare <= 1 + 1e-9);
      } else assert.equal(space, undefined, m);
    }
  }
  assert.deepEqual(report.methods.content?.seeds[0]?.itemSpace, report.contentItemSpace);
  assert.match(itemSpaceTable(report), /\| Frozen content \| /);
  assert.match(looTable(report), /\| Item-kNN \(co-occurrence\) \| 1\.0000 ± 0\.0000 \|/);
  assert.equal(readdirSync(join(dataDir, 'content-cache')).length, 1);
  const again = await runLoo(cfg, { dataset, methods: ['content'], seeds: [1], maxEpochs: 1, patience: 1 });
  assert.deepEqual(again.methods.content?.seeds[0]?.test, report.methods.content?.seeds[0]?.test, 'the cached vectors rank the same');
});
