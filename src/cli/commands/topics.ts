import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { intOption } from '../options.js';
import { createKafka } from '../../kafka/client.js';
import { applyTopics, loadTopicSpecs } from '../../kafka/topics.js';

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('the topics defined in topics/');
  topics
    .command('apply')
    .description('create missing topics; bring existing ones to the settings of topics/ that lose no data (message.timestamp.type); report other differences without changing them')
    .option('--replication <n>', 'replication factor for created topics (default: the spec, 1 for the local stack)', intOption('--replication'))
    .option('--json', 'print JSON')
    .action(async (o: { replication?: number; json?: boolean }) => {
      const admin = createKafka(loadConfig(), 'admin').admin();
      await admin.connect();
      try {
        const reports = await applyTopics(admin, loadTopicSpecs(), o.replication);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
        } else {
          for (const r of reports) {
            const details = [...r.altered.map((a) => `set ${a}`), ...r.differences];
            process.stdout.write(`${r.name.padEnd(22)} ${r.action}${details.length ? `: ${details.join('; ')}` : ''}\n`);
          }
        }
      } finally {
        await admin.disconnect();
      }
    });
}
