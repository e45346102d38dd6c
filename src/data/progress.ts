// Progress of a long run on stderr: a bar on a terminal, a log line every few seconds otherwise (CI, files).
import cliProgress from 'cli-progress';
import { log } from '../ops/logger.js';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

const LOG_EVERY_MS = 5_000;

export function progressReporter(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {value}/{total} msgs | {eta_formatted} left`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  const l = log('data.progress');
  let last = Date.now();
  return {
    update(done) {
      const now = Date.now();
      if (now - last < LOG_EVERY_MS) return;
      last = now;
      l.info({ label, done, total, percent: total > 0 ? Math.round((100 * done) / total) : 100 }, 'progress');
    },
    stop() {},
  };
}
