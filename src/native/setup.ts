// `learn native setup`: fetch libtensorflow (once), stage it into tfjs-node's deps/ and build the binding.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../ops/logger.js';
import { BindingBuildError, buildBinding, nativePackageLayout, NODE_PACKAGE, stageLibrary, type NativePackageLayout } from './binding.js';
import { fetchLibTensorflow, type LibraryFiles } from './libtensorflow.js';

export interface NativeSetupOptions {
  nativeDir: string;
  python: string;
  /** Re-hash the cached library. */
  verify?: boolean;
  /** Rebuild the binding even when one built against this library is there. */
  force?: boolean;
}

export interface NativeSetupResult {
  library: LibraryFiles;
  layout: NativePackageLayout;
  /** False when an existing binding, staged against this very library, was kept. */
  built: boolean;
  ms: number;
}

export async function setupNative(opts: NativeSetupOptions): Promise<NativeSetupResult> {
  const t0 = performance.now();
  const layout = nativePackageLayout(NODE_PACKAGE);
  if (layout === undefined) throw new BindingBuildError('package-missing', `${NODE_PACKAGE} is not installed (an optional dependency; run npm ci)`);
  const library = await fetchLibTensorflow({ nativeDir: opts.nativeDir, python: opts.python, verify: opts.verify ?? false });
  const built = opts.force === true || !stagedAgainst(layout, library);
  if (built) {
    log('native.setup').info({ package: layout.dir }, 'building the tfjs-node binding against libtensorflow');
    await stageLibrary(layout, library);
    await buildBinding(layout);
  }
  return { library, layout, built, ms: Math.round(performance.now() - t0) };
}

/** True when the binding exists and deps/ points at this library. */
function stagedAgainst(layout: NativePackageLayout, library: LibraryFiles): boolean {
  try {
    realpathSync(layout.bindingPath);
    return realpathSync(join(layout.dir, 'deps/lib/libtensorflow_cc.so.2')) === realpathSync(join(library.libDir, 'libtensorflow_cc.so.2'));
  } catch {
    return false;
  }
}
