import type { Command } from 'commander';

/** A command group shared by several files (e.g. `bench`): created by the first that asks for it. */
export function subgroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** A commander argument parser for a number flag of at least `min` (fractions allowed). */
export function numberOption(flag: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!Number.isFinite(n) || n < min) throw new Error(`${flag}: expected a number >= ${min}, got "${value}"`);
    return n;
  };
}

/** A commander argument parser for an integer flag of at least `min`, naming the flag when it is not one. */
export function intOption(flag: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}
