// The native addon of @tensorflow/tfjs-node, built here against the fetched libtensorflow. The package's own install
// script would download a library and a prebuilt addon from a storage bucket, so package.json's allowScripts keeps it
// from running; this does its job from the local copy: stage deps/ as the package's binding.gyp expects it, then
// node-gyp (shipped inside npm) compiles the two binding sources, about 7 s.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ReasonError } from '../ops/reason-error.js';
import { isMissingProgram, runCommand, tail } from '../ops/run-command.js';
import type { LibraryFiles } from './libtensorflow.js';

export const NODE_PACKAGE = '@tensorflow/tfjs-node';
export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export type BindingBuildReason = 'package-missing' | 'toolchain-missing' | 'build-failed';

export class BindingBuildError extends ReasonError<BindingBuildReason> {
  constructor(reason: BindingBuildReason, message: string) {
    super(reason, message, 'BindingBuildError');
  }
}

const packageJsonSchema = z.object({
  version: z.string(),
  binary: z.object({ module_name: z.string(), module_path: z.string(), napi_versions: z.array(z.number().int()) }),
});

/** Where an installed tfjs-node package keeps its addon. */
export interface NativePackageLayout {
  dir: string;
  version: string;
  /** The N-API version node-pre-gyp will look for: the highest the package lists that this Node supports. */
  napiVersion: number;
  moduleName: string;
  bindingPath: string;
}

/** The installed package's layout, or undefined when the optional dependency is not installed. */
export function nativePackageLayout(pkg: NativePackage = NODE_PACKAGE): NativePackageLayout | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
  const meta = packageJsonSchema.parse(JSON.parse(readFileSync(pkgJson, 'utf8')));
  const supported = Number(process.versions.napi);
  const napiVersion = Math.max(...meta.binary.napi_versions.filter((v) => v <= supported));
  const dir = dirname(pkgJson);
  const modulePath = resolve(dir, meta.binary.module_path.replace('{napi_build_version}', String(napiVersion)));
  return { dir, version: meta.version, napiVersion, moduleName: meta.binary.module_name, bindingPath: join(modulePath, `${meta.binary.module_name}.node`) };
}

/**
 * Lays out `deps/` as binding.gyp links it: lib/ with the two libraries and the names it links by (libtensorflow.so,
 * libtensorflow_framework.so; libtensorflow.so.2.9.1 is the file the package's install script checks before it
 * downloads), include/ with the headers. Relative symlinks into the cache: no second 680 MB copy, and they survive a
 * move of the whole project folder.
 */
export async function stageLibrary(layout: NativePackageLayout, lib: LibraryFiles): Promise<void> {
  const deps = join(layout.dir, 'deps');
  await rm(deps, { recursive: true, force: true });
  const libDir = join(deps, 'lib');
  await mkdir(libDir, { recursive: true });
  const links: Array<[string, string]> = [
    ['libtensorflow_cc.so.2', join(lib.libDir, 'libtensorflow_cc.so.2')],
    ['libtensorflow_framework.so.2', join(lib.libDir, 'libtensorflow_framework.so.2')],
    ['libtensorflow.so', 'libtensorflow_cc.so.2'],
    ['libtensorflow.so.2.9.1', 'libtensorflow_cc.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
  ];
  for (const [name, target] of links) {
    await symlink(target.startsWith('/') ? relative(libDir, target) : target, join(libDir, name));
  }
  await symlink(relative(deps, lib.includeDir), join(deps, 'include'));
}

/** node-gyp as npm ships it: npm names it to lifecycle scripts; otherwise it sits beside the running Node's npm. */
function nodeGypScript(): string | undefined {
  const candidates = [process.env.npm_config_node_gyp, resolve(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

/** Compiles the addon in place (the package's build/ folder) and checks that the file node-pre-gyp looks for exists. */
export async function buildBinding(layout: NativePackageLayout): Promise<void> {
  for (const tool of ['g++', 'make', 'python3']) {
    try {
      await runCommand(tool, ['--version']);
    } catch (err) {
      if (isMissingProgram(err)) throw new BindingBuildError('toolchain-missing', `${tool} is not on PATH: install g++, make and python3 to build the native binding`);
      throw err;
    }
  }
  const gyp = nodeGypScript();
  const [cmd, pre] = gyp !== undefined ? [process.execPath, [gyp]] : ['node-gyp', []];
  // The running Node's own headers when its install has them (Debian's and the official tarballs do): no download.
  const nodeDir = resolve(dirname(process.execPath), '..');
  const args = [
    ...pre,
    'rebuild',
    ...(existsSync(join(nodeDir, 'include/node/node_api.h')) ? [`--nodedir=${nodeDir}`] : []),
    `--module_name=${layout.moduleName}`,
    `--module_path=${dirname(layout.bindingPath)}`,
    `--napi_build_version=${layout.napiVersion}`,
  ];
  let r;
  try {
    r = await runCommand(cmd, args, layout.dir);
  } catch (err) {
    if (isMissingProgram(err)) throw new BindingBuildError('toolchain-missing', 'node-gyp not found (it ships with npm): install npm');
    throw err;
  }
  if (r.code !== 0) {
    const firstError = `${r.stdout}\n${r.stderr}`.split('\n').find((s) => /error|ERR!/.test(s) && !/gyp info/.test(s))?.trim();
    throw new BindingBuildError('build-failed', `node-gyp could not build the binding (exit ${r.code}): ${firstError ?? tail(r.stderr, 2)}`);
  }
  if (!existsSync(layout.bindingPath)) throw new BindingBuildError('build-failed', `node-gyp succeeded but ${layout.bindingPath} is missing`);
}
