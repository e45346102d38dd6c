import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createKafka } from '../../kafka/client.js';
import { applyTopics, loadTopicSpecs } from '../../kafka/topics.js';
import { stackUp } from '../../stack/stack.js';

/** The README's first command: everything from a fresh clone to a running pipeline on the embedded stack. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('bring the embedded stack up and apply the topics (later steps: model, data, replay)')
    .action(async () => {
      const cfg = loadConfig();
      for (const s of await stackUp(cfg)) process.stdout.write(`${s.service}: ${s.state} at ${s.address}\n`);
      const admin = createKafka(cfg, 'admin').admin();
      await admin.connect();
      try {
        for (const r of await applyTopics(admin, loadTopicSpecs())) process.stdout.write(`topic ${r.name}: ${r.action}\n`);
      } finally {
        await admin.disconnect();
      }
    });
}
