import { pino, destination, stdTimeFunctions, type Logger } from 'pino';
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
    destination({ fd: 2, sync: true }),
  );
  return root;
}

/** A child logger for one component, e.g. `log('kafka.consumer')`. */
export function log(component: string): Logger {
  return logger().child({ component });
}
