import type { Command } from 'commander';
import { configMarkdown, describeConfig, loadConfig } from '../../config/load.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the validated configuration (secrets masked), or the settings table')
    .option('--markdown', 'print the table of settings (docs/configuration.md)')
    .action((opts: { markdown?: boolean }) => {
      if (opts.markdown) {
        process.stdout.write(`${configMarkdown()}\n`);
        return;
      }
      process.stdout.write(`${JSON.stringify(describeConfig(loadConfig()), null, 2)}\n`);
    });
}
