import { rename, writeFile } from 'node:fs/promises';

/** Writes pretty JSON beside `path` and renames it into place: a reader sees the old file or the whole new one. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}
