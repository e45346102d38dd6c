import { resolve } from 'node:path';
import { settings, type Config, type SettingName } from './settings.js';

export type { Config } from './settings.js';
import { PROJECT_ROOT } from './paths.js';

/** A bad configuration value: the message names every offending variable and field. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export type Overrides = Partial<Record<SettingName, unknown>>;

/** Settings that changed name: setting the old one fails at start rather than being ignored. */
const RENAMED: Readonly<Record<string, string>> = { LEARN_REPLAY_HALF_LIFE_DAYS: 'LEARN_POPULARITY_HALF_LIFE_DAYS' };

/**
 * Builds the config from the environment, with command-line overrides on top, and validates every field.
 * Empty strings count as unset, so `KAFKA_BROKERS= learn ...` means the embedded stack.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Overrides = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(settings) as Array<[SettingName, (typeof settings)[SettingName]]>) {
    const fromEnv = env[s.env];
    const raw = overrides[name] ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) {
      out[name] = parsed.data;
    } else {
      const shown = s.secret ? '[secret]' : JSON.stringify(raw);
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      problems.push(`${s.env} (${name}) = ${shown}: ${why}`);
    }
  }
  for (const [was, now] of Object.entries(RENAMED)) {
    if (env[was] !== undefined && env[was] !== '') problems.push(`${was} was renamed ${now}: set that instead`);
  }
  const cfg = out as Config;
  if (problems.length === 0) {
    if (cfg.kafkaSaslMechanism && !(cfg.kafkaSaslUsername && cfg.kafkaSaslPassword)) {
      problems.push('KAFKA_SASL_MECHANISM (kafkaSaslMechanism) is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required');
    }
    if (cfg.kafkaPort === cfg.kafkaControllerPort) {
      problems.push('LEARN_KAFKA_CONTROLLER_PORT (kafkaControllerPort) must differ from LEARN_KAFKA_PORT');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  cfg.stackDir = resolve(PROJECT_ROOT, cfg.stackDir);
  return cfg;
}

/** Every setting at its default: what code outside the settings table falls back to (defaults live in settings.ts only). */
export const DEFAULTS: Readonly<Config> = loadConfig({});

/** One setting from the environment, validated (its default when unset); a bad value throws ConfigError naming it. */
export function settingFrom<K extends SettingName>(name: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const s = settings[name];
  const raw = env[s.env];
  const parsed = s.schema.safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new ConfigError([`${s.env} (${name}) = ${s.secret ? '[secret]' : JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`]);
  return parsed.data as Config[K];
}

/** The brokers to talk to: the external cluster when configured, otherwise the embedded stack. */
export function kafkaBrokers(cfg: Config): string[] {
  return cfg.kafkaBrokers ?? [`127.0.0.1:${cfg.kafkaPort}`];
}

export function redisUrl(cfg: Config): string {
  return cfg.redisUrl ?? `redis://127.0.0.1:${cfg.redisPort}`;
}

/** The configuration as safe to print: secrets masked. */
export function describeConfig(cfg: Config): Record<string, unknown> {
  return Object.fromEntries(
    (Object.keys(settings) as SettingName[]).map((k) => [
      k,
      settings[k].secret && cfg[k] !== undefined ? '[secret]' : cfg[k],
    ]),
  );
}

/** The settings table of docs/configuration.md. */
export function configMarkdown(): string {
  const rows = Object.entries(settings).map(([name, s]) => {
    const d = s.schema.safeParse(undefined);
    const def = d.success && d.data !== undefined ? `\`${String(d.data)}\`` : '(unset)';
    return `| \`${s.env}\` | ${def} | ${s.doc} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
