import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, destination, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import { settingFrom } from '../config/load.js';

// Structured logs on stderr so that stdout stays free for command output (JSON from bench, vectors from embed).
// Redaction is a second line of defence: secrets are never passed to the logger on purpose.
const REDACT = [
  '*.password',
  '*.sasl',
  '*.secret',
  '*.token',
  'config.kafkaSaslPassword',
  'config.redisUrl',
];

/** pino's numeric level of `warn`: from here on a line is also shown on a terminal (logToFile). */
const WARN = 40;

/**
 * Where every logger writes: JSON lines on stderr, or (logToFile) every line to a file and warn and above, made
 * readable, on stderr. One switch for all: child loggers made before it (most modules make theirs at import) follow.
 */
class LogSink implements DestinationStream {
  private stderr = destination({ fd: 2, sync: true });
  private file: DestinationStream | undefined;

  toFile(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    this.file = destination({ dest: path, sync: true });
  }

  write(line: string): void {
    if (!this.file) {
      this.stderr.write(line);
      return;
    }
    this.file.write(line);
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= WARN) this.stderr.write(readable(line));
  }
}

/** One log line for a person: `WARN component: message`. */
function readable(line: string): string {
  try {
    const o = JSON.parse(line) as { level: number; msg?: string; component?: string; err?: { message?: string } };
    const name = o.level >= 60 ? 'FATAL' : o.level >= 50 ? 'ERROR' : 'WARN';
    return `${name} ${o.component ? `${o.component}: ` : ''}${o.msg ?? ''}${o.err?.message ? ` (${o.err.message})` : ''}\n`;
  } catch {
    return line;
  }
}

const sink = new LogSink();
let root: Logger | undefined;

export function logger(): Logger {
  root ??= pino(
    {
      // LOG_LEVEL through the settings table: its default and its validation live there.
      level: settingFrom('logLevel'),
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: stdTimeFunctions.isoTime,
    },
    sink,
  );
  return root;
}

/** A child logger for one component, e.g. `log('kafka.consumer')`. */
export function log(component: string): Logger {
  return logger().child({ component });
}

/**
 * From now on every log line (JSON, as before) goes to `path`, and only warnings and errors, one readable line each,
 * to stderr: for a person at a terminal (`learn demo`). The roles never call it: their collectors expect JSON.
 */
export function logToFile(path: string): void {
  sink.toFile(path);
}
