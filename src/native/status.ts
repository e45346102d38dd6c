// Whether the native backend can load, and if not, the one missing piece, checked from files alone (cheap, and it
// never half-registers a backend): the backend selection logs this reason, `learn doctor` prints it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nativePackageLayout, type NativePackage, type NativePackageLayout } from './binding.js';

export type NativeReadiness = { ready: true; layout: NativePackageLayout } | { ready: false; reason: string };

export function nativeReadiness(pkg: NativePackage = '@tensorflow/tfjs-node'): NativeReadiness {
  let layout: NativePackageLayout | undefined;
  try {
    layout = nativePackageLayout(pkg);
  } catch (err) {
    return { ready: false, reason: `${pkg}'s package.json is unreadable: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (layout === undefined) return { ready: false, reason: `${pkg} is not installed (an optional dependency; run npm ci)` };
  const setup = pkg === '@tensorflow/tfjs-node' ? 'run learn native setup' : 'see docs/native.md';
  // existsSync follows the symlinks: a staged link into a deleted cache counts as not fetched.
  if (!existsSync(join(layout.dir, 'deps/lib/libtensorflow_cc.so.2'))) return { ready: false, reason: `libtensorflow not fetched (${setup})` };
  if (!existsSync(layout.bindingPath)) return { ready: false, reason: `the ${pkg} binding is not built (${setup})` };
  return { ready: true, layout };
}
