import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, configMarkdown, describeConfig, kafkaBrokers, loadConfig, redisUrl } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';

test('defaults point at the embedded stack', () => {
  const cfg = loadConfig({});
  assert.deepEqual(kafkaBrokers(cfg), ['127.0.0.1:9092']);
  assert.equal(redisUrl(cfg), 'redis://127.0.0.1:6379');
  assert.equal(cfg.stackDir, join(PROJECT_ROOT, '.stack'));
});

test('external clusters from the environment; empty strings count as unset', () => {
  const cfg = loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9092', REDIS_URL: 'rediss://:pw@r:6380', LEARN_KAFKA_PORT: '' });
  assert.deepEqual(kafkaBrokers(cfg), ['k1:9092', 'k2:9092']);
  assert.equal(redisUrl(cfg), 'rediss://:pw@r:6380');
  assert.equal(cfg.kafkaPort, 9092);
});

test('every bad value is named with its variable and field, and secrets are not echoed', () => {
  const err = (() => {
    try {
      loadConfig({ KAFKA_BROKERS: 'no-port', LEARN_REDIS_PORT: '0', REDIS_URL: 'http://user:hunter2@x', LOG_LEVEL: 'loud' });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof ConfigError);
  assert.equal(err.problems.length, 4);
  assert.match(err.message, /KAFKA_BROKERS \(kafkaBrokers\) = "no-port": expected host:port/);
  assert.match(err.message, /LEARN_REDIS_PORT \(redisPort\)/);
  assert.match(err.message, /REDIS_URL \(redisUrl\) = \[secret\]/);
  assert.match(err.message, /LOG_LEVEL \(logLevel\)/);
  assert.doesNotMatch(err.message, /hunter2/);
});

test('a renamed setting fails at start with its new name, rather than being ignored', () => {
  assert.throws(() => loadConfig({ LEARN_REPLAY_HALF_LIFE_DAYS: '3' }), /LEARN_REPLAY_HALF_LIFE_DAYS was renamed LEARN_POPULARITY_HALF_LIFE_DAYS/);
  assert.equal(loadConfig({ LEARN_POPULARITY_HALF_LIFE_DAYS: '3' }).popularityHalfLifeDays, 3);
});

test('SASL needs a user name and a password', () => {
  assert.throws(() => loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }), /KAFKA_SASL_PASSWORD are required/);
  const cfg = loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 's3cret' });
  assert.equal(describeConfig(cfg).kafkaSaslPassword, '[secret]');
  assert.doesNotMatch(JSON.stringify(describeConfig(cfg)), /s3cret/);
});

test('the settings table of docs/configuration.md is the one the code prints', () => {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8');
  const table = /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(doc)?.[1];
  assert.equal(table, configMarkdown(), 'run `npm run build && node scripts/update-config-doc.mjs`');
});
