import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaJars } from '../../src/stack/kafka-broker.js';
import type { Config } from '../../src/config/load.js';

export interface SaslBroker {
  brokers: string;
  username: string;
  password: string;
  stop: () => Promise<void>;
  log: () => string;
}

/**
 * A second, throw-away Kafka 3.9.1 broker (KRaft, combined mode) from the embedded stack's jars, with one
 * SASL_PLAINTEXT listener (PLAIN, users inline in the listener's JAAS config) on its own loopback ports.
 */
export async function startSaslBroker(cfg: Config, port: number, controllerPort: number, password: string): Promise<SaslBroker> {
  const libs = ensureKafkaJars(cfg);
  const dir = mkdtempSync(join(tmpdir(), 'learn-sasl-broker-'));
  const adminPw = randomBytes(8).toString('hex');
  const props = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(log4j, 'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=SASL_PLAINTEXT',
      'sasl.enabled.mechanisms=PLAIN',
      'sasl.mechanism.inter.broker.protocol=PLAIN',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${adminPw}" user_admin="${adminPw}" user_learn="${password}";`,
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=2',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  const cp = `${libs}/*`;
  // A Kafka Uuid is 16 random bytes in base64url; one starting with '-' would be read as an option.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  try {
    execFileSync('java', [`-Dlog4j.configuration=file:${log4j}`, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { stdio: 'ignore' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const child: ChildProcess = spawn('java', ['-Xmx256m', '-Xms256m', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${log4j}`, '-cp', cp, 'kafka.Kafka', props], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const brokers = `127.0.0.1:${port}`;
  // Up when an authenticated metadata request succeeds.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const admin = new Kafka({ brokers: [brokers], sasl: { mechanism: 'plain', username: 'admin', password: adminPw }, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      break;
    } catch {
      await admin.disconnect().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`SASL broker did not start:\n${out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { brokers, username: 'learn', password, stop, log: () => out };
}
