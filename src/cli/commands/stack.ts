import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { stackDown, stackStatus, stackUp } from '../../stack/stack.js';
import type { ServiceStatus } from '../../stack/service.js';

function print(rows: ServiceStatus[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  for (const r of rows) {
    const extra = [r.pid !== undefined ? `pid ${r.pid}` : '', r.answers !== undefined ? (r.answers ? 'answers' : 'not answering') : '', r.note ?? '']
      .filter(Boolean)
      .join(', ');
    process.stdout.write(`${r.service.padEnd(6)} ${r.state.padEnd(8)} ${r.address}${extra ? `  (${extra})` : ''}\n`);
  }
}

export function registerStack(program: Command): void {
  const stack = program
    .command('stack')
    .description('the embedded default stack on loopback: Kafka 3.9.1 (KRaft) and Redis');
  stack
    .command('up')
    .description('start Kafka and Redis (resolving jars and installing redis-server once); returns when both answer')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => print(await stackUp(loadConfig()), Boolean(o.json)));
  stack
    .command('down')
    .description('stop exactly the processes the stack started')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => print(await stackDown(loadConfig()), Boolean(o.json)));
  stack
    .command('status')
    .description('report each service')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const rows = await stackStatus(loadConfig());
      print(rows, Boolean(o.json));
      if (rows.some((r) => !r.answers)) process.exitCode = 3;
    });
}
