import { writeSync } from 'node:fs';
import type { Config, FaultPoint, HangPoint } from '../config/settings.js';

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

// LEARN_FAULT_HANG_AT: a thread that never answers (a stuck native call) is what the stall watchdog exists for; the
// fault tests make one at a precise point. A worker thread arms its own copy, given by the role.

let hang: Config['faultHangAt'];
let hangReached = 0;

/** Arms the hang of LEARN_FAULT_HANG_AT (once, at a role's or a worker thread's start); undefined disarms. */
export function armFaultHang(spec: Config['faultHangAt']): void {
  hang = spec;
  hangReached = 0;
}

/** The armed hang, for a worker thread that reaches a point on the role's behalf. */
export function armedFaultHang(): Config['faultHangAt'] {
  return hang;
}

/** A named point: the n-th time it is reached with the hang armed for it, the calling thread blocks for good. */
export function hangPoint(point: HangPoint): void {
  if (hang?.point !== point || ++hangReached < hang.n) return;
  writeSync(2, `fault injection: hanging at ${point} #${hangReached}\n`);
  // Nothing ever notifies this cell: the thread waits as a native call that never returns would.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
