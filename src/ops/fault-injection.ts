import { writeSync } from 'node:fs';
import type { Config, FaultPoint } from '../config/settings.js';

// LEARN_FAULT_KILL_AT: the fault tests kill a role at a precise point (inside a checkpoint write, between a DLQ send
// and the commit past it) instead of hoping a timed SIGKILL lands there. Off unless a role arms it at start; an
// unarmed point costs one comparison.

let armed: Config['faultKillAt'];
let reached = 0;

/** Arms the kill of LEARN_FAULT_KILL_AT (once, at a role's start); undefined disarms. */
export function armFaultKill(spec: Config['faultKillAt']): void {
  armed = spec;
  reached = 0;
}

/** The armed kill, for a worker thread that reaches a point on the role's behalf (it arms its own copy). */
export function armedFaultKill(): Config['faultKillAt'] {
  return armed;
}

/** A named point: the n-th time it is reached with the kill armed for it, the process SIGKILLs itself. */
export function faultPoint(point: FaultPoint): void {
  if (armed?.point !== point || ++reached < armed.n) return;
  // Synchronous, so the line is out before the process is: the tests read it to know where the kill landed.
  writeSync(2, `fault injection: SIGKILL at ${point} #${reached}\n`);
  process.kill(process.pid, 'SIGKILL');
}
