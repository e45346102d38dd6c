import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT, TOPICS_DIR } from '../../src/config/paths.js';
import { settings } from '../../src/config/settings.js';
import { commands } from '../../src/cli/commands/index.js';

// No Docker engine or cluster here: the deploy files are parsed and checked against the code they run —
// image tag, settings, ports, volumes, commands — so a renamed variable or command breaks this test, not a rollout.

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const K8S = join(DEPLOY, 'k8s');
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; scripts: Record<string, string> };
const IMAGE = `${pkg.name}:${pkg.version}`;
const SETTING_ENVS = new Set(Object.values(settings).map((s) => s.env));
const SECRET_ENVS = new Set(Object.values(settings).filter((s) => s.secret).map((s) => s.env));
const METRICS_PORT = Number(settings.metricsPort.schema.parse(undefined));
const SERVE_PORT = Number(settings.servePort.schema.parse(undefined));
const SERVE_METRICS_PORT = Number(settings.serveMetricsPort.schema.parse(undefined));

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function parseYaml(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return obj(d.toJS());
  });
}

const k8sDocs = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => parseYaml(join(K8S, f)).map((doc) => ({ file: f, doc })));
const byKind = (kind: string, name?: string): Obj[] =>
  k8sDocs.map((d) => d.doc).filter((d) => d.kind === kind && (name === undefined || obj(d.metadata).name === name));
const one = (kind: string, name: string): Obj => {
  const found = byKind(kind, name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0]!;
};

interface AppContainer {
  where: string;
  args: string[];
  env: Map<string, string>;
  container: Obj;
  pod: Obj;
  workload: Obj;
}

// The app's containers in the workloads, with their effective environment (envFrom first, env on top).
const configMaps = new Map(byKind('ConfigMap').map((c) => [String(obj(c.metadata).name), obj(c.data)]));
const secrets = new Map(byKind('Secret').map((s) => [String(obj(s.metadata).name), { ...obj(s.data), ...obj(s.stringData) }]));
const appContainers: AppContainer[] = [...byKind('Deployment'), ...byKind('StatefulSet'), ...byKind('Job')].flatMap((w) => {
  const pod = obj(obj(obj(w.spec).template).spec);
  return arr(pod.containers)
    .map(obj)
    .filter((c) => String(c.image).startsWith(`${pkg.name}:`))
    .map((c) => {
      const env = new Map<string, string>();
      for (const from of arr(c.envFrom).map(obj)) {
        const cm = obj(from.configMapRef).name;
        const sec = obj(from.secretRef).name;
        const src = cm !== undefined ? configMaps.get(String(cm)) : secrets.get(String(sec));
        assert.ok(src, `${String(obj(w.metadata).name)}: envFrom ${String(cm ?? sec)} is defined in deploy/k8s`);
        for (const [k, v] of Object.entries(src)) env.set(k, String(v));
      }
      for (const e of arr(c.env).map(obj)) env.set(String(e.name), String(e.value ?? ''));
      return { where: `k8s ${String(w.kind)} ${String(obj(w.metadata).name)}`, args: [...arr(c.command), ...arr(c.args)].map(String), env, container: c, pod, workload: w };
    });
});
const k8sRole = (cmd: string): AppContainer => {
  const found = appContainers.filter((c) => c.args[0] === cmd);
  assert.equal(found.length, 1, `one k8s workload runs learn ${cmd}`);
  return found[0]!;
};

const compose = parseYaml(join(DEPLOY, 'docker-compose.yml'))[0]!;
const services = obj(compose.services);
const composeApps = Object.entries(services)
  .map(([name, s]) => ({ name, s: obj(s) }))
  .filter(({ s }) => String(s.image).startsWith(`${pkg.name}:`));
const composeRole = (cmd: string): Obj => {
  const found = composeApps.filter(({ s }) => arr(s.command)[0] === cmd);
  assert.equal(found.length, 1, `one compose service runs learn ${cmd}`);
  return found[0]!.s;
};
const composeEnv = (s: Obj): Map<string, string> => new Map(Object.entries(obj(s.environment)).map(([k, v]) => [k, String(v)]));

const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');

test('every environment variable the deploy files set is a real setting; secrets only in the Secret', () => {
  for (const c of appContainers) for (const k of c.env.keys()) assert.ok(SETTING_ENVS.has(k), `${c.where}: ${k} is not a setting`);
  // ConfigMaps the roles take their environment from (learn-redis-config is a file for the Redis server).
  const envMaps = new Set(appContainers.flatMap((c) => arr(c.container.envFrom).map((f) => obj(obj(f).configMapRef).name)).filter((n) => n !== undefined).map(String));
  for (const [name, data] of configMaps) {
    if (!envMaps.has(name)) continue;
    for (const k of Object.keys(data)) {
      assert.ok(SETTING_ENVS.has(k), `ConfigMap ${name}: ${k} is not a setting`);
      assert.ok(!SECRET_ENVS.has(k), `ConfigMap ${name}: ${k} is a secret, it belongs in a Secret`);
    }
  }
  const appSecret = secrets.get('learn-secrets');
  assert.ok(appSecret);
  for (const k of Object.keys(appSecret)) assert.ok(SECRET_ENVS.has(k), `Secret learn-secrets: ${k} is not a secret setting`);
  assert.deepEqual(Object.keys(appSecret).sort(), ['KAFKA_SASL_PASSWORD', 'LEARN_SERVE_TOKEN', 'REDIS_URL']);
  for (const { name, s } of composeApps) for (const k of composeEnv(s).keys()) assert.ok(SETTING_ENVS.has(k), `compose ${name}: ${k} is not a setting`);
  // Dockerfile ENV: settings, plus the install-time switch of onnxruntime-node.
  const envNames = [...dockerfile.matchAll(/^ENV\s+([\s\S]*?)(?<!\\)\n/gm)].flatMap((m) => [...m[1]!.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((x) => x[1]!));
  assert.ok(envNames.length >= 4, `Dockerfile ENV parsed: ${envNames.join(',')}`);
  for (const k of envNames) assert.ok(SETTING_ENVS.has(k) || k === 'ONNXRUNTIME_NODE_INSTALL', `Dockerfile: ${k} is not a setting`);
});

test('the commands the deploy files run are real `learn` commands (with real options)', () => {
  const program = new Command('learn').exitOverride();
  for (const register of commands) register(program);
  const resolve = (args: string[]): void => {
    let cmd: Command = program;
    for (const a of args) {
      if (a.startsWith('--')) {
        assert.ok(cmd.options.some((o) => o.long === a), `learn ${args.join(' ')}: ${a} is not an option of ${cmd.name()}`);
        continue;
      }
      if (/^\d+$/.test(a)) continue; // an option's value
      const sub = cmd.commands.find((c) => c.name() === a);
      if (!sub && cmd !== program) break; // an argument of a leaf command
      assert.ok(sub, `learn ${args.join(' ')}: no command ${a}`);
      cmd = sub;
    }
  };
  const used = [...appContainers.map((c) => c.args), ...composeApps.map(({ s }) => arr(s.command).map(String))];
  for (const args of used) resolve(args);
  for (const role of ['encode', 'train', 'serve']) {
    assert.ok(used.some((a) => a[0] === role), `a workload runs learn ${role}`);
    k8sRole(role);
    composeRole(role);
  }
});

test('one image everywhere: package name:version, built by the Dockerfile with entrypoint bin/learn.js', () => {
  for (const c of appContainers) assert.equal(c.container.image, IMAGE, c.where);
  for (const { name, s } of composeApps) assert.equal(s.image, IMAGE, `compose ${name}`);
  const built = composeApps.filter(({ s }) => s.build !== undefined);
  assert.equal(built.length, 1, 'one compose service builds the image');
  assert.equal(obj(built[0]!.s.build).dockerfile, 'Dockerfile');
  assert.ok(existsSync(join(DEPLOY, String(obj(built[0]!.s.build).context), 'Dockerfile')), 'the build context holds the Dockerfile');
  const kustomization = parseYaml(join(K8S, 'kustomization.yaml'))[0]!;
  assert.equal(obj(arr(kustomization.images)[0]).newTag, pkg.version);
  for (const r of arr(kustomization.resources).map(String)) assert.ok(existsSync(join(K8S, r)), `kustomization resource ${r}`);

  assert.match(dockerfile, /^FROM node:20-bookworm-slim AS build$/m);
  assert.match(dockerfile, /^FROM node:20-bookworm-slim$/m);
  assert.match(dockerfile, /ONNXRUNTIME_NODE_INSTALL=skip/);
  assert.match(dockerfile, /RUN npm ci\b/);
  assert.match(dockerfile, /npm run build/);
  assert.ok(pkg.scripts.build, 'package.json has a build script');
  const entry = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(dockerfile);
  assert.ok(entry, 'ENTRYPOINT ["node", ...]');
  assert.equal(entry[1], 'bin/learn.js');
  assert.equal(pkg.bin.learn, entry[1]);
  assert.ok(existsSync(join(PROJECT_ROOT, entry[1])), 'the entrypoint exists');
  // Everything the build copies from the context exists and is not excluded by .dockerignore.
  const ignored = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1]!.split(/\s+/)) {
      assert.ok(existsSync(join(PROJECT_ROOT, src)), `Dockerfile copies ${src}, which exists`);
      assert.ok(!ignored.includes(src), `${src} is not in .dockerignore`);
    }
  }
  for (const must of ['node_modules', 'dist', '.git', '.stack', '.cache', '.state']) assert.ok(ignored.includes(must), `.dockerignore excludes ${must}`);
});

test('ports agree with the defaults: metrics for encode/train, LEARN_SERVE_PORT for serve, probes on them', () => {
  assert.equal(METRICS_PORT, 9464);
  for (const role of ['encode', 'train']) {
    const c = k8sRole(role);
    const ports = arr(c.container.ports).map(obj);
    assert.deepEqual(ports.map((p) => p.containerPort), [METRICS_PORT], `${c.where}: container port`);
    assert.equal(c.env.get('LEARN_METRICS_PORT') ?? String(METRICS_PORT), String(METRICS_PORT));
    assert.equal(c.env.get('LEARN_METRICS_HOST'), '0.0.0.0', `${c.where}: listens beyond loopback`);
    for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz'], ['startupProbe', '/healthz']] as const) {
      const get = obj(obj(c.container[probe]).httpGet);
      assert.equal(get.path, path, `${c.where}: ${probe}`);
      assert.ok(ports.some((p) => p.name === get.port || p.containerPort === get.port), `${c.where}: ${probe} port ${String(get.port)} is a container port`);
    }
    assert.equal(obj(obj(obj(c.workload.spec).template).metadata).annotations !== undefined, true);
    assert.equal(obj(obj(obj(obj(c.workload.spec).template).metadata).annotations)['prometheus.io/port'], String(METRICS_PORT));
  }
  const s = k8sRole('serve');
  const ports = arr(s.container.ports).map(obj);
  assert.deepEqual(ports.map((p) => p.containerPort), [SERVE_PORT, SERVE_METRICS_PORT]);
  assert.equal(s.env.get('LEARN_SERVE_PORT') ?? String(SERVE_PORT), String(SERVE_PORT));
  assert.equal(s.env.get('LEARN_SERVE_HOST'), '0.0.0.0');
  // /metrics is on its own port, reachable by the scraper (0.0.0.0) but not through the Service.
  assert.equal(s.env.get('LEARN_SERVE_METRICS_PORT') ?? String(SERVE_METRICS_PORT), String(SERVE_METRICS_PORT));
  assert.equal(s.env.get('LEARN_SERVE_METRICS_HOST'), '0.0.0.0');
  assert.equal(obj(obj(obj(obj(s.workload.spec).template).metadata).annotations)['prometheus.io/port'], String(SERVE_METRICS_PORT));
  for (const probe of ['livenessProbe', 'readinessProbe']) assert.ok(ports.some((p) => p.name === obj(obj(s.container[probe]).httpGet).port));
  const svc = one('Service', 'learn-serve');
  assert.deepEqual(obj(svc.spec).selector, obj(obj(obj(s.workload.spec).selector).matchLabels));
  assert.deepEqual(arr(obj(svc.spec).ports).map((p) => obj(p).targetPort), ['http'], 'the Service exposes the API port only');

  // Compose: the container side of each mapping and the healthcheck URL use the same ports.
  for (const [role, port] of [['encode', METRICS_PORT], ['train', METRICS_PORT], ['serve', SERVE_PORT]] as const) {
    const svcDef = composeRole(role);
    assert.ok(arr(svcDef.ports).map(String).every((p) => p.endsWith(`:${port}`)), `compose ${role}: ports map to ${port}`);
    assert.match(arr(obj(svcDef.healthcheck).test).map(String).join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/`));
  }
  assert.equal(obj(services.kafka).image, 'apache/kafka:3.9.1');
});

test('trainer: one replica, Recreate, its checkpoints on a PersistentVolumeClaim mounted at LEARN_STATE_DIR', () => {
  const t = k8sRole('train');
  assert.equal(t.workload.kind, 'Deployment');
  assert.equal(obj(t.workload.spec).replicas, 1);
  assert.equal(obj(obj(t.workload.spec).strategy).type, 'Recreate');
  const stateDir = t.env.get('LEARN_STATE_DIR');
  assert.ok(stateDir?.startsWith('/'), 'LEARN_STATE_DIR is an absolute path in the container');
  const mount = arr(t.container.volumeMounts).map(obj).find((m) => m.mountPath === stateDir);
  assert.ok(mount, `a volume is mounted at LEARN_STATE_DIR=${stateDir}`);
  const vol = arr(t.pod.volumes).map(obj).find((v) => v.name === mount.name);
  const claim = obj(obj(vol).persistentVolumeClaim).claimName;
  assert.ok(claim, 'the state volume is a PersistentVolumeClaim');
  assert.deepEqual(obj(one('PersistentVolumeClaim', String(claim)).spec).accessModes, ['ReadWriteOnce']);
  assert.equal(obj(t.pod.securityContext).fsGroup, 1000, 'the non-root user can write the volume');

  const ct = composeRole('train');
  const cStateDir = composeEnv(ct).get('LEARN_STATE_DIR');
  assert.ok(arr(ct.volumes).map(String).some((v) => v.split(':')[1] === cStateDir), `compose trainer mounts a volume at ${cStateDir}`);
  assert.match(dockerfile, new RegExp(`LEARN_STATE_DIR=${cStateDir}\\b`), 'the image default agrees');
});

test('encoder replicas do not exceed the partitions of its input topic; resources and probes on every role', () => {
  const spec = JSON.parse(readFileSync(join(TOPICS_DIR, 'learn.item-listings.json'), 'utf8')) as { partitions: number };
  const e = k8sRole('encode');
  const replicas = Number(obj(e.workload.spec).replicas);
  assert.ok(replicas >= 1 && replicas <= spec.partitions, `encoder replicas ${replicas} <= ${spec.partitions} partitions`);
  assert.equal(e.env.get('LEARN_ENCODER_THREADS'), String(obj(obj(e.container.resources).limits).cpu), 'one ONNX thread per CPU of the limit');
  for (const c of appContainers) {
    const r = obj(c.container.resources);
    assert.ok(obj(r.requests).cpu && obj(r.requests).memory && obj(r.limits).cpu && obj(r.limits).memory, `${c.where}: requests and limits`);
    // Every mounted file setting points into a mounted volume.
    for (const k of ['KAFKA_SSL_CA_FILE', 'REDIS_TLS_CA_FILE']) {
      const f = c.env.get(k);
      if (f) assert.ok(arr(c.container.volumeMounts).map(obj).some((m) => f.startsWith(`${String(m.mountPath)}/`)), `${c.where}: ${k}=${f} is on a mounted volume`);
    }
  }
});

test('Redis keeps every key and survives a restart: no eviction and an append-only file, in compose and in the k8s Redis config (issue 23 item 4)', () => {
  const redis = obj(services.redis);
  const args = arr(redis.command).map(String);
  const flag = (name: string): string | undefined => args[args.indexOf(`--${name}`) + 1];
  assert.equal(flag('maxmemory-policy'), 'noeviction', 'compose redis: no eviction');
  assert.equal(flag('appendonly'), 'yes', 'compose redis: AOF');
  assert.ok(arr(redis.volumes).map(String).some((v) => v.split(':')[1] === '/data'), 'compose redis keeps /data on a volume');
  const conf = String(obj(one('ConfigMap', 'learn-redis-config').data)['redis.conf']);
  assert.match(conf, /^maxmemory-policy noeviction$/m);
  assert.match(conf, /^appendonly yes$/m);
  const kustomization = readFileSync(join(K8S, 'kustomization.yaml'), 'utf8');
  assert.match(kustomization, /- redis-config\.yaml/);
});
