import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { log } from '../ops/logger.js';
import { commands } from './commands/index.js';

const program = new Command('learn')
  .description('Real-time LEARN: frozen-LM item vectors, twin-tower adapters trained from Kafka, fresh vectors in Redis')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`learn: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    log('cli').debug({ err }, 'command failed');
    process.stderr.write(`learn: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
