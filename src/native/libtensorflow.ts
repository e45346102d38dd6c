// libtensorflow for the native tfjs backend, taken from the PyPI wheel `tensorflow-cpu`: it carries the two shared
// libraries the binding links (they export every TF_/TFE_ function it calls, and need no Python) and the C
// headers it compiles against. Fetched once into a git-ignored cache, pinned by SHA-256 like the models and ml-100k.
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../encoder/manifest.js';
import { writeJsonAtomic } from '../ops/atomic-json.js';
import { log } from '../ops/logger.js';
import { ReasonError } from '../ops/reason-error.js';
import { downloadWheel, extractWheelEntries, extractWheelTree, type WheelFetchReason } from '../ops/pip-wheel.js';

export const LIBTENSORFLOW = {
  package: 'tensorflow-cpu',
  version: '2.18.0',
  /** One fixed wheel whatever the local Python: the libraries are the same in every cp3xx wheel of a release. */
  pipArgs: ['--only-binary=:all:', '--platform', 'manylinux_2_17_x86_64', '--python-version', '3.11', '--implementation', 'cp'],
  wheel: 'tensorflow_cpu-2.18.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  wheelSha256: '089e71746960ea581dca53401f84b3b99c8537313e337a9e5dbf97036a936f7e',
  libraries: {
    'libtensorflow_cc.so.2': '9d170ad7b544798e929e197abb4f8176bc8c6d1cfc88bd131cbd5b13d440d25f',
    'libtensorflow_framework.so.2': '05e9c6ff377fe6e2bd1c380012ef1f5d69e46a7a0f363d753da53e7b398cfc4d',
  },
  /** Header folders (below the wheel's tensorflow/include/) that the C API's headers include. */
  headerRoot: 'tensorflow/include/',
  headers: ['tensorflow/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring', 'xla/tsl/c/'],
} as const;

export type LibraryFetchReason = WheelFetchReason | 'unsupported-platform' | 'checksum-mismatch';

export class LibraryFetchError extends ReasonError<LibraryFetchReason> {
  constructor(reason: LibraryFetchReason, message: string) {
    super(reason, message, 'LibraryFetchError');
  }
}

const MANIFEST_FILE = 'manifest.json';

const manifestSchema = z.object({
  source: z.object({ package: z.string(), version: z.string(), wheel: z.string(), wheelSha256: z.string() }),
  libraries: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
  headerFiles: z.number().int().positive(),
  fetchedAt: z.string(),
});
export type LibraryManifest = z.infer<typeof manifestSchema>;

/** A ready copy: `lib/` holds the two libraries, `include/` the headers. */
export interface LibraryFiles {
  dir: string;
  libDir: string;
  includeDir: string;
  manifest: LibraryManifest;
}

export interface FetchLibraryOptions {
  /** Cache root (LEARN_NATIVE_DIR); the library goes to `<nativeDir>/tensorflow-cpu-<version>/`. */
  nativeDir: string;
  /** Python whose pip downloads the wheel. */
  python: string;
  /** Re-hash the cached libraries (680 MB: about 2 s) instead of trusting their sizes. */
  verify?: boolean;
}

export function libraryDir(nativeDir: string): string {
  return resolve(nativeDir, `${LIBTENSORFLOW.package}-${LIBTENSORFLOW.version}`);
}

/** Fetches the library once; later calls return the cached copy when its manifest and files are intact. */
export async function fetchLibTensorflow(opts: FetchLibraryOptions): Promise<LibraryFiles> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new LibraryFetchError('unsupported-platform', `libtensorflow is pinned for linux x64 only, not ${process.platform} ${process.arch}`);
  }
  const dir = libraryDir(opts.nativeDir);
  const cached = await cachedLibTensorflow(opts.nativeDir, opts.verify ?? false);
  if (cached) return cached;

  const l = log('native.fetch');
  const fail = (r: LibraryFetchReason, m: string): LibraryFetchError => new LibraryFetchError(r, m);
  const req = { python: opts.python, package: LIBTENSORFLOW.package, version: LIBTENSORFLOW.version, purpose: 'to fetch libtensorflow', fail, pipArgs: LIBTENSORFLOW.pipArgs };
  await mkdir(resolve(opts.nativeDir), { recursive: true });
  // The wheel is 230 MB: download it beside the cache rather than into a possibly small /tmp.
  const tmp = await mkdtemp(join(resolve(opts.nativeDir), '.fetch-'));
  try {
    l.info({ package: `${LIBTENSORFLOW.package}==${LIBTENSORFLOW.version}` }, 'downloading the wheel that ships libtensorflow (230 MB)');
    const wheelPath = await downloadWheel(req, tmp);
    const wheelSha256 = await sha256File(wheelPath);
    if (wheelSha256 !== LIBTENSORFLOW.wheelSha256) {
      throw fail('checksum-mismatch', `${basename(wheelPath)} has sha256 ${wheelSha256}, expected ${LIBTENSORFLOW.wheelSha256}`);
    }
    const work = join(tmp, 'out');
    await mkdir(join(work, 'lib'), { recursive: true });
    await extractWheelEntries(req, wheelPath, join(work, 'lib'), Object.keys(LIBTENSORFLOW.libraries).map((n) => `tensorflow/${n}`));
    const libraries: LibraryManifest['libraries'] = {};
    for (const [name, want] of Object.entries(LIBTENSORFLOW.libraries)) {
      const path = join(work, 'lib', name);
      const got = await sha256File(path);
      if (got !== want) throw fail('checksum-mismatch', `${name} has sha256 ${got}, expected ${want}`);
      libraries[name] = { sha256: got, bytes: statSync(path).size };
    }
    const headerFiles = await extractWheelTree(req, wheelPath, join(work, 'include'), LIBTENSORFLOW.headerRoot, LIBTENSORFLOW.headers);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    const manifest: LibraryManifest = {
      source: { package: LIBTENSORFLOW.package, version: LIBTENSORFLOW.version, wheel: basename(wheelPath), wheelSha256 },
      libraries,
      headerFiles,
      fetchedAt: new Date().toISOString(),
    };
    // Written last and atomically: its presence means the files beside it are complete.
    await writeJsonAtomic(join(dir, MANIFEST_FILE), manifest);
    l.info({ dir }, 'libtensorflow ready');
    return filesOf(dir, manifest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The cached copy when its manifest parses and each library is there with its recorded size (and hash when asked). */
export async function cachedLibTensorflow(nativeDir: string, verify = false): Promise<LibraryFiles | undefined> {
  const dir = libraryDir(nativeDir);
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const manifest = manifestSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    for (const [name, want] of Object.entries(LIBTENSORFLOW.libraries)) {
      const file = join(dir, 'lib', name);
      if (manifest.libraries[name]?.sha256 !== want || statSync(file).size !== manifest.libraries[name]?.bytes) return undefined;
      if (verify && (await sha256File(file)) !== want) return undefined;
    }
    return filesOf(dir, manifest);
  } catch {
    return undefined;
  }
}

function filesOf(dir: string, manifest: LibraryManifest): LibraryFiles {
  return { dir, libDir: join(dir, 'lib'), includeDir: join(dir, 'include'), manifest };
}
