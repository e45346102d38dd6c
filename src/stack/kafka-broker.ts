import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { DEPLOY_DIR } from '../config/paths.js';
import { brokerAnswers } from '../kafka/client.js';
import { log } from '../ops/logger.js';
import { runningPid, startDetached, stopProcess, waitUntil, type ManagedProcess } from './process.js';
import type { ServiceStatus } from './service.js';

const l = log('stack.kafka');

/**
 * The broker's files. The jars are shared; every file of one broker is named by its port, so two port settings
 * sharing one stack folder never share a pid file, data folder or config (the config's path is the cmdline mark).
 */
export function kafkaFiles(cfg: Config) {
  const home = join(cfg.stackDir, 'kafka');
  const port = cfg.kafkaPort;
  return {
    home,
    libs: join(home, 'libs'),
    pidFile: join(home, `kafka-${port}.pid`),
    data: join(home, `data-${port}`),
    logs: join(home, `logs-${port}`),
    serverProperties: join(home, `server-${port}.properties`),
    log4j: join(home, `log4j-${port}.properties`),
  };
}

export function kafkaProcess(cfg: Config): ManagedProcess {
  const p = kafkaFiles(cfg);
  return {
    name: 'kafka',
    pidFile: p.pidFile,
    logFile: join(p.logs, 'stdout.log'),
    cmdlineMarks: [` ${p.serverProperties} `],
    // The layout before: one kafka.pid and server.properties whatever the port; the broker must listen on ours.
    legacy: { pidFile: join(p.home, 'kafka.pid'), cmdlineMarks: [` ${join(p.home, 'server.properties')} `], port: cfg.kafkaPort },
  };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => values[k] ?? m);
}

function requireTool(cmd: string, hint: string): void {
  const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${cmd} not found on PATH: ${hint}`);
}

/** Resolves the broker's jars with Maven once (deploy/kafka/pom.xml); later calls find them in place. */
export function ensureKafkaJars(cfg: Config): string {
  const { libs } = kafkaFiles(cfg);
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
  requireTool('mvn', 'install Maven (Debian package maven) to resolve the Kafka jars');
  l.info({ libs }, 'resolving Kafka 3.9.1 jars with Maven (once)');
  mkdirSync(libs, { recursive: true });
  const pom = join(DEPLOY_DIR, 'kafka', 'pom.xml');
  const r = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`mvn could not resolve the Kafka jars (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return libs;
}

function writeConfigFiles(cfg: Config): void {
  const p = kafkaFiles(cfg);
  mkdirSync(p.logs, { recursive: true });
  const values = {
    KAFKA_PORT: String(cfg.kafkaPort),
    CONTROLLER_PORT: String(cfg.kafkaControllerPort),
    DATA_DIR: p.data,
    LOG_DIR: p.logs,
  };
  const template = (name: string) => readFileSync(join(DEPLOY_DIR, 'kafka', name), 'utf8');
  writeFileSync(p.serverProperties, fill(template('server.properties.template'), values));
  writeFileSync(p.log4j, fill(template('log4j.properties.template'), values));
}

function classpath(cfg: Config): string {
  return `${kafkaFiles(cfg).libs}/*`;
}

/** Formats the KRaft storage once; a formatted data folder is kept across restarts. */
function formatStorageOnce(cfg: Config): void {
  const p = kafkaFiles(cfg);
  if (existsSync(join(p.data, 'meta.properties'))) return;
  // A Kafka Uuid is 16 random bytes, base64url without padding; like Kafka's own generator, avoid a leading
  // '-', which StorageTool's argument parser would take for an option.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  l.info({ data: p.data, clusterId }, 'formatting KRaft storage');
  execFileSync(
    'java',
    [`-Dlog4j.configuration=file:${p.log4j}`, '-cp', classpath(cfg), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.serverProperties],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

export async function kafkaUp(cfg: Config): Promise<ServiceStatus> {
  const proc = kafkaProcess(cfg);
  const address = `127.0.0.1:${cfg.kafkaPort}`;
  const existing = runningPid(proc);
  if (existing !== undefined) {
    await waitUntil('kafka', () => brokerAnswers(cfg), { timeoutMs: cfg.stackStartTimeoutMs, logFile: proc.logFile });
    return { service: 'kafka', state: 'running', pid: existing, address, note: 'already running' };
  }
  if (await brokerAnswers(cfg, 1500)) {
    return { service: 'kafka', state: 'foreign', address, note: 'a broker not started by this stack answers there; left alone' };
  }
  requireTool('java', 'install a Java 17+ runtime');
  ensureKafkaJars(cfg);
  writeConfigFiles(cfg);
  formatStorageOnce(cfg);
  const p = kafkaFiles(cfg);
  const pid = startDetached(
    proc,
    'java',
    [
      `-Xmx${cfg.kafkaHeap}`,
      `-Xms${cfg.kafkaHeap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${p.log4j}`,
      `-Dkafka.logs.dir=${p.logs}`,
      '-cp',
      classpath(cfg),
      'kafka.Kafka',
      p.serverProperties,
    ],
    p.home,
  );
  l.info({ servicePid: pid, address }, 'kafka starting');
  const started = Date.now();
  await waitUntil('kafka', () => brokerAnswers(cfg), {
    timeoutMs: cfg.stackStartTimeoutMs,
    alive: () => runningPid(proc) !== undefined,
    logFile: join(p.logs, 'server.log'),
  });
  l.info({ servicePid: pid, address, ms: Date.now() - started }, 'kafka answers metadata requests');
  return { service: 'kafka', state: 'running', pid, address, note: 'started' };
}

export async function kafkaDown(cfg: Config): Promise<ServiceStatus> {
  const how = await stopProcess(kafkaProcess(cfg), 30_000);
  return { service: 'kafka', state: 'stopped', address: `127.0.0.1:${cfg.kafkaPort}`, note: how };
}

export async function kafkaStatus(cfg: Config): Promise<ServiceStatus> {
  const address = `127.0.0.1:${cfg.kafkaPort}`;
  const pid = runningPid(kafkaProcess(cfg));
  const answers = await brokerAnswers(cfg, 1500);
  if (pid !== undefined) return { service: 'kafka', state: 'running', pid, address, answers };
  return { service: 'kafka', state: answers ? 'foreign' : 'stopped', address, answers };
}
