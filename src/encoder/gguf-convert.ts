// Offline GGUF conversion with gguf-py (llama.cpp's own pure-Python GGUF library, on PyPI): no compiler, no model
// hub. pip installs it (with numpy) once into the models cache; the conversion is deterministic, so its output is
// checked against a pinned SHA-256 like any fetched file.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipInstall } from '../ops/pip-wheel.js';
import { runCommand, tail } from '../ops/run-command.js';
import type { ConvertedSource } from './llm-catalog.js';
import { ModelFetchError } from './model-fetch.js';

// Dequantises every Q4_1 tensor to f32 and quantises it to the target type with gguf-py's numpy port of ggml's
// reference quantisers; copies every other tensor and key, renaming `<arch>.` keys to the new architecture.
const CONVERT_SCRIPT = `
import sys
import gguf
src, dst, target, arch_to = sys.argv[1:5]
T = gguf.GGMLQuantizationType
to = T[target]
file_type = {'Q8_0': gguf.LlamaFileType.MOSTLY_Q8_0}[target]
r = gguf.GGUFReader(src)
arch = r.fields['general.architecture'].contents()
w = gguf.GGUFWriter(dst, arch=arch_to, endianess=r.endianess)
for f in r.fields.values():
    if f.name == 'general.architecture' or f.name.startswith('GGUF.'):
        continue
    vt = f.types[0]
    sub = f.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
    val = int(file_type) if f.name == 'general.file_type' else f.contents()
    name = arch_to + f.name[len(arch):] if f.name.startswith(arch + '.') else f.name
    w.add_key_value(name, val, vt, sub_type=sub)
out = []
for t in r.tensors:
    if t.tensor_type == T.Q4_1:
        out.append((t.name, gguf.quants.quantize(gguf.quants.dequantize(t.data, T.Q4_1), to), to))
    else:
        out.append((t.name, t.data, t.tensor_type))
for name, data, tt in out:
    w.add_tensor_info(name, data.shape, data.dtype, data.nbytes, tt)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_ti_data_to_file()
for name, data, tt in out:
    w.write_tensor_data(data)
w.close()
`;

export interface GgufConversion {
  python: string;
  /** Cache root; the converter is installed under `<modelsDir>/.tools/`. */
  modelsDir: string;
  source: ConvertedSource;
  /** general.architecture of the output. */
  architecture: string;
  /** What the conversion is for, in error messages ("to convert smollm2-135m-q8"). */
  purpose: string;
}

/** Writes `dst`, the GGUF `src` converted as `c.source` says. */
export async function convertGguf(c: GgufConversion, src: string, dst: string): Promise<void> {
  const lib = await ensureConverter(c);
  const r = await runCommand(c.python, ['-c', CONVERT_SCRIPT, src, dst, c.source.weights, c.architecture], undefined, { ...process.env, PYTHONPATH: lib });
  if (r.code !== 0) throw new ModelFetchError('convert-failed', `converting ${src} to ${c.source.weights} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`);
}

/** `pip install --target` once into a versioned folder; a marker file says the install completed. */
async function ensureConverter(c: GgufConversion): Promise<string> {
  const spec = `${c.source.tool.package}==${c.source.tool.version}`;
  const lib = join(c.modelsDir, '.tools', `${c.source.tool.package}-${c.source.tool.version}`);
  if (existsSync(join(lib, '.complete'))) return lib;
  const tmp = `${lib}.tmp-${process.pid}`;
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await pipInstall({ python: c.python, purpose: c.purpose, fail: (r, m) => new ModelFetchError(r, m) }, [spec], tmp);
    await writeFile(join(tmp, '.complete'), `${spec}\n`);
    await rm(lib, { recursive: true, force: true });
    await rename(tmp, lib);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return lib;
}
