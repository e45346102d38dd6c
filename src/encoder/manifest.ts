import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { POOLING_MODES } from './pooling.js';

/** What a fetched model folder holds and how to run it; written last, so its presence means the fetch finished. */
export const MANIFEST_FILE = 'manifest.json';
const MANIFEST_VERSION = 1;

const manifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  /** Catalog name, or `dir-<folder name>` for a local export. */
  name: z.string().min(1),
  /** `<name>@<first 12 hex of the onnx sha256>`: changes whenever the weights do (part of the idempotency key). */
  modelId: z.string().min(1),
  source: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('maven'), coordinates: z.string().min(1) }),
    z.object({ kind: z.literal('dir'), path: z.string().min(1) }),
  ]),
  /** Absolute paths, or paths relative to the manifest's folder. */
  onnxFile: z.string().min(1),
  tokenizerFile: z.string().min(1),
  tokenizerConfigFile: z.string().min(1).optional(),
  onnxBytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  hiddenSize: z.number().int().positive(),
  pooling: z.enum(POOLING_MODES),
  maxTokens: z.number().int().positive(),
  textPrefix: z.string().optional(),
  inputNames: z.array(z.string()),
  outputName: z.string().min(1),
  fetchedAt: z.string(),
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestDraft = Omit<ModelManifest, 'manifestVersion'>;

/** The manifest in `dir`, or undefined when absent or unreadable (the caller then fetches again). */
export async function readManifest(dir: string): Promise<ModelManifest | undefined> {
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic write (temp file + rename) so a crash never leaves a half-written manifest that looks valid. */
export async function writeManifest(dir: string, draft: ManifestDraft): Promise<ModelManifest> {
  const manifest: ModelManifest = manifestSchema.parse({ manifestVersion: MANIFEST_VERSION, ...draft });
  const tmp = join(dir, `${MANIFEST_FILE}.tmp-${process.pid}`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, join(dir, MANIFEST_FILE));
  return manifest;
}

/** Streams the file so a multi-gigabyte LLM export does not have to fit in memory. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}
