import { Command } from 'commander';
import { output, withServices } from '../cli-context';

/** `scepter retention run`: one pruning run now (the server runs it every SCEPTER_RETENTION_INTERVAL_MINUTES). */
export function registerRetentionCommands(program: Command): void {
  const retention = program.command('retention').description('prune the auth log, audit log and finished SCEP transactions by age');
  retention
    .command('run')
    .description('prune now with the configured SCEPTER_*_RETENTION_DAYS (does nothing while another instance is running it)')
    .action(async (_opts: unknown, cmd: Command) =>
      withServices(cmd, async ({ retention: job, config }) => {
        const r = await job.runOnce();
        const days = { authLog: config.retention.authLogDays, audit: config.retention.auditDays, scepTransactions: config.retention.scepTransactionDays };
        if (!r) {
          output(
            cmd,
            { ran: false, reason: 'another instance is running retention now', days },
            () => 'Another instance is running retention now; nothing done.',
          );
          return;
        }
        const keep = (n: number) => (n > 0 ? `older than ${n} days` : 'kept forever');
        output(cmd, { ran: true, ...r, days }, () =>
          [
            `auth log:          ${r.deleted.authLog} rows deleted (${keep(days.authLog)})`,
            `audit log:         ${r.deleted.audit} rows deleted (${keep(days.audit)})`,
            `SCEP transactions: ${r.deleted.scepTransactions} rows deleted (${keep(days.scepTransactions)}; successes kept while their certificate is valid)`,
            r.partial ? 'Stopped early (time limit); the next run goes on.' : `Done in ${r.ms} ms.`,
          ].join('\n'),
        );
      }),
    );
}
