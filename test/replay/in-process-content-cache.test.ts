import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, type Config } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { runReplay } from '../../src/replay/index.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';

// The in-process replay reads the listings' frozen vectors from the on-disk content cache after the first run of a
// slice, with the real encoder: a warm-start sweep (online, static, daily, seeds) encodes the catalogue once.
const dataDir = mkdtempSync(join(tmpdir(), 'replay-cache-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
let cfg: Config;

before(async () => {
  await ensureDefaultModel();
  cfg = { ...loadConfig({ ...process.env, LEARN_DATA_DIR: dataDir }), palDim: 16, palLayers: 1, palHeads: 2, palOutDim: 8, historyLen: 8, batchUsers: 2, windowMaxEvents: 2 };
});

test('a second in-process replay of the same slice takes the cached content and ranks the same', { timeout: 300_000 }, async () => {
  const slice = { dataset: join(PROJECT_ROOT, 'test/fixtures/movielens-csv'), speed: 0, methods: ['learn', 'popularity'] as const, operatingPoint: { beta: 0.3, contentWeight: 0.2 }, inProcess: true };
  const first = await runReplay(cfg, { ...slice, methods: [...slice.methods] });
  assert.equal(first.eventsTrained, 5);
  assert.equal(readdirSync(join(dataDir, 'content-cache')).length, 1, 'the first run stored the vectors');
  const again = await runReplay(cfg, { ...slice, methods: [...slice.methods] });
  assert.equal(readdirSync(join(dataDir, 'content-cache')).length, 1, 'the second run found them');
  assert.deepEqual(again.metrics, first.metrics);
  assert.equal(again.itemsEncoded, first.itemsEncoded);
});
