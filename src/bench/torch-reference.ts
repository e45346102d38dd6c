import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { PROJECT_ROOT } from '../config/paths.js';
import { runCommand, tail } from '../ops/run-command.js';
import type { PalConfig } from '../model/config.js';

/** The PyTorch version the reference step is pinned to (the one issue 13's figures came from). */
export const TORCH_VERSION = '2.15.0';
/** The spec of one step, in the repository. */
export const REFERENCE_STEP = join(PROJECT_ROOT, 'bench', 'reference', 'pal_step.py');
const DEFAULT_VENV = join(PROJECT_ROOT, '.cache', 'venv-torch');
// torch's own pure-Python dependencies; the CUDA libraries come with the plain `torch` wheel (PyPI has no CPU-only
// Linux x86-64 build), but every step runs on the CPU with CUDA hidden.
const PIP_PACKAGES = [`torch==${TORCH_VERSION}`];

export interface TorchStep {
  threads: number;
  ms: number;
  loss: number;
}

/**
 * A PyTorch process running bench/reference/pal_step.py as a server: one step per request, on the CPU, with the
 * thread count asked for. Used by `learn bench trainer --reference torch` to time the same step side by side.
 */
export class TorchReference {
  readonly version: string;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private readonly reader: Interface;

  private constructor(child: ChildProcessWithoutNullStreams, reader: Interface, version: string) {
    this.child = child;
    this.reader = reader;
    this.lines = reader[Symbol.asyncIterator]();
    this.version = version;
  }

  /** Starts the reference (installing torch into `venv` first when it cannot import it). */
  static async start(cfg: PalConfig, users: number, targetsPerUser: number, venv = DEFAULT_VENV): Promise<TorchReference> {
    const python = await ensureTorchVenv(venv);
    const spec = JSON.stringify({ config: cfg, users, targetsPerUser });
    const child = spawn(python, [REFERENCE_STEP, spec], { env: { ...process.env, CUDA_VISIBLE_DEVICES: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const reader = createInterface({ input: child.stdout });
    const ref = new TorchReference(child, reader, '');
    const first = await ref.lines.next();
    if (first.done) throw new Error(`the torch reference exited before it was ready: ${tail(stderr)}`);
    const hello = JSON.parse(first.value) as { ready: boolean; torch: string };
    return Object.assign(ref, { version: hello.torch });
  }

  /** One timed step with `threads` intra-op threads; the time is measured inside Python (no pipe overhead). */
  async step(threads: number): Promise<TorchStep> {
    this.child.stdin.write(`${JSON.stringify({ threads })}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('the torch reference exited mid-run');
    return JSON.parse(next.value) as TorchStep;
  }

  close(): void {
    this.reader.close();
    this.child.stdin.end();
    this.child.kill();
  }
}

/** The venv's python, after installing torch into it when `import torch` fails there. */
async function ensureTorchVenv(venv: string): Promise<string> {
  const python = join(venv, 'bin', 'python');
  if (existsSync(python) && (await runCommand(python, ['-c', 'import torch'])).code === 0) return python;
  if (!existsSync(python)) {
    const made = await runCommand('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) throw new Error(`python3 -m venv ${venv} failed: ${tail(made.stderr)}`);
  }
  process.stderr.write(`installing ${PIP_PACKAGES.join(' ')} into ${venv} (once; about 3 GB with its CUDA libraries)\n`);
  const pip = await runCommand(python, ['-m', 'pip', 'install', '--quiet', ...PIP_PACKAGES]);
  if (pip.code !== 0) throw new Error(`pip install ${PIP_PACKAGES.join(' ')} failed: ${tail(pip.stderr)}`);
  return python;
}
