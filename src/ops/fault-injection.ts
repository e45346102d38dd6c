import { writeSync } from 'node:fs';
import type { FaultPoint, FaultSpec, HangPoint } from '../config/settings.js';

// LEARN_FAULT_KILL_AT: the fault tests kill a role at a precise point (inside a checkpoint write, between a DLQ send
// and the commit past it) instead of hoping a timed SIGKILL lands there. LEARN_FAULT_HANG_AT: a thread that never
// answers (a stuck native call) is what the stall watchdog exists for; the tests make one at a precise point. Off
// unless a role arms them at start (a worker thread arms its own copy, given by the role); an unarmed point costs one
// comparison.

/** One armed fault: which point, and how many times it has been reached. */
class ArmedFault<P extends string> {
  private spec: FaultSpec<P> | undefined;
  private reached = 0;

  arm(spec: FaultSpec<P> | undefined): void {
    this.spec = spec;
    this.reached = 0;
  }

  get armed(): FaultSpec<P> | undefined {
    return this.spec;
  }

  /** Counts a reach of `point`; its number when this is the armed one, else undefined. */
  hit(point: P): number | undefined {
    if (this.spec?.point !== point || ++this.reached < this.spec.n) return undefined;
    return this.reached;
  }
}

const kill = new ArmedFault<FaultPoint>();
const hang = new ArmedFault<HangPoint>();

/** Arms the kill of LEARN_FAULT_KILL_AT (once, at a role's start); undefined disarms. */
export function armFaultKill(spec: FaultSpec<FaultPoint> | undefined): void {
  kill.arm(spec);
}

/** The armed kill, for a worker thread that reaches a point on the role's behalf (it arms its own copy). */
export function armedFaultKill(): FaultSpec<FaultPoint> | undefined {
  return kill.armed;
}

/** A named point: the n-th time it is reached with the kill armed for it, the process SIGKILLs itself. */
export function faultPoint(point: FaultPoint): void {
  const n = kill.hit(point);
  if (n === undefined) return;
  // Synchronous, so the line is out before the process is: the tests read it to know where the kill landed.
  writeSync(2, `fault injection: SIGKILL at ${point} #${n}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Arms the hang of LEARN_FAULT_HANG_AT (once, at a role's or a worker thread's start); undefined disarms. */
export function armFaultHang(spec: FaultSpec<HangPoint> | undefined): void {
  hang.arm(spec);
}

/** The armed hang, for a worker thread that reaches a point on the role's behalf. */
export function armedFaultHang(): FaultSpec<HangPoint> | undefined {
  return hang.armed;
}

/** A named point: the n-th time it is reached with the hang armed for it, the calling thread blocks for good. */
export function hangPoint(point: HangPoint): void {
  const n = hang.hit(point);
  if (n === undefined) return;
  writeSync(2, `fault injection: hanging at ${point} #${n}\n`);
  // Nothing ever notifies this cell: the thread waits as a native call that never returns would (though, unlike one,
  // worker.terminate() still ends it).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
