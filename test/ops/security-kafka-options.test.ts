import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { kafkaClientConfig } from '../../src/kafka/client.js';
import { redisTls } from '../../src/store/redis-client.js';

// Unit tests of the config -> kafkajs (and ioredis TLS) option mapping: pure, no broker.
const dir = mkdtempSync(join(tmpdir(), 'learn-tls-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\nCA-BUNDLE\n-----END CERTIFICATE-----\n');
const CERT = file('client.pem', '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');
const KEY = file('client.key', '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
const base = { KAFKA_BROKERS: 'k1:9093,k2:9093' };

test('no security settings: plaintext, no SASL', () => {
  const k = kafkaClientConfig(loadConfig(base), 'encoder');
  assert.equal(k.ssl, false);
  assert.equal(k.sasl, undefined);
  assert.deepEqual(k.brokers, ['k1:9093', 'k2:9093']);
  assert.equal(k.clientId, 'learn-encoder');
});

test('SASL/PLAIN and SCRAM map to kafkajs sasl options', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    const k = kafkaClientConfig(
      loadConfig({ ...base, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw-1' }),
      'trainer',
    );
    assert.deepEqual(k.sasl, { mechanism, username: 'svc', password: 'pw-1' });
    assert.equal(k.ssl, true, 'KAFKA_SSL=true alone: TLS with the system CAs');
  }
});

test('SASL mechanism without credentials fails at start, naming the variables', () => {
  assert.throws(() => loadConfig({ ...base, KAFKA_SASL_MECHANISM: 'plain' }), (e: unknown) => e instanceof ConfigError && /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/.test(e.message));
});

test('KAFKA_SSL_CA_FILE: TLS on with the CA bundle read from the file', () => {
  const k = kafkaClientConfig(loadConfig({ ...base, KAFKA_SSL_CA_FILE: CA }), 'admin');
  assert.deepEqual(k.ssl, { ca: ['-----BEGIN CERTIFICATE-----\nCA-BUNDLE\n-----END CERTIFICATE-----\n'] });
});

test('mutual TLS: client certificate, key and passphrase; SASL alongside', () => {
  const k = kafkaClientConfig(
    loadConfig({
      ...base,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: CA,
      KAFKA_SSL_CERT_FILE: CERT,
      KAFKA_SSL_KEY_FILE: KEY,
      KAFKA_SSL_KEY_PASSWORD: 'key-pass',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'pw-2',
    }),
    'encoder',
  );
  assert.ok(typeof k.ssl === 'object');
  assert.match(String(k.ssl.cert), /CLIENT/);
  assert.match(String(k.ssl.key), /PRIVATE KEY/);
  assert.equal(k.ssl.passphrase, 'key-pass');
  assert.equal(k.sasl?.mechanism, 'scram-sha-512');
});

test('a certificate without its key (or the reverse) fails, naming both variables', () => {
  for (const env of [{ KAFKA_SSL_CERT_FILE: CERT }, { KAFKA_SSL_KEY_FILE: KEY }]) {
    assert.throws(() => kafkaClientConfig(loadConfig({ ...base, ...env }), 'x'), (e: unknown) => e instanceof ConfigError && /KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/.test(e.message));
  }
});

test('a missing TLS file fails at start, naming the variable', () => {
  for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'REDIS_TLS_CA_FILE']) {
    assert.throws(
      () => loadConfig({ ...base, [name]: join(dir, 'nope.pem') }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(name) && /no such file/.test(e.message),
      name,
    );
  }
  // A folder is not a CA bundle either.
  assert.throws(() => loadConfig({ KAFKA_SSL_CA_FILE: dir }), /KAFKA_SSL_CA_FILE/);
});

test('REDIS_TLS_CA_FILE maps to ioredis tls.ca for rediss:// and is refused for redis://', () => {
  assert.deepEqual(redisTls('rediss://:pw@r:6380', CA), { ca: ['-----BEGIN CERTIFICATE-----\nCA-BUNDLE\n-----END CERTIFICATE-----\n'] });
  assert.equal(redisTls('rediss://r:6380', undefined), undefined);
  assert.throws(() => redisTls('redis://r:6379', CA), (e: unknown) => e instanceof ConfigError && /REDIS_TLS_CA_FILE.*rediss:\/\//.test(e.message));
});
