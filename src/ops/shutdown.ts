import { log } from './logger.js';

type Closer = () => Promise<void> | void;

const closers: Array<{ name: string; close: Closer }> = [];
let installed = false;
let stopping: Promise<void> | undefined;

/**
 * Registers a resource to close on SIGTERM/SIGINT, newest first (a consumer stops before the
 * producer it writes the DLQ with). A second signal exits at once.
 */
export function onShutdown(name: string, close: Closer): () => void {
  const entry = { name, close };
  closers.unshift(entry);
  installHandlers();
  return () => {
    const i = closers.indexOf(entry);
    if (i >= 0) closers.splice(i, 1);
  };
}

/** Closes every registered resource once; later calls wait for the same run. */
export function shutdown(reason: string): Promise<void> {
  stopping ??= (async () => {
    const l = log('shutdown');
    l.info({ reason, resources: closers.map((c) => c.name) }, 'shutting down');
    for (const { name, close } of [...closers]) {
      try {
        await close();
      } catch (err) {
        l.error({ err, resource: name }, 'error while closing');
      }
    }
  })();
  return stopping;
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log('shutdown').warn({ signal }, 'second signal, exiting now');
        process.exit(130);
      }
      // A role that failed meanwhile (a stall during the stop, say) set exitCode 1: the supervisor must see it.
      void shutdown(signal).then(() => process.exit(process.exitCode ?? 0));
    });
  }
}
