import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { AUDIT_PAGE } from '../../admin/audit-log.service';
import { pageLimit } from '../../shared/paging';
import { escapeText } from '../../shared/terminal-text';

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description('the audit log of admin changes (who, what, when, from where), oldest first')
    .option('--limit <n>', `the latest N entries, 1 to ${AUDIT_PAGE.max}`, String(AUDIT_PAGE.fallback))
    .option('--action <action>', 'only this action, e.g. integration.create')
    .action(async (opts: { limit: string; action?: string }, cmd: Command) =>
      withServices(cmd, async ({ audit }) => {
        const entries = await audit.list({ limit: pageLimit(opts.limit, AUDIT_PAGE.max, AUDIT_PAGE.fallback), action: opts.action });
        const json = entries.map((e) => ({ ...e, at: e.at.toISOString() }));
        output(cmd, { entries: json }, () =>
          entries.length
            ? entries
                .map((e) =>
                  [e.at.toISOString(), e.who, e.from, e.action, e.target ?? '-', e.details ? JSON.stringify(e.details) : '']
                    .map(escapeText)
                    .join('  ')
                    .trimEnd(),
                )
                .join('\n')
            : 'the audit log is empty',
        );
      }),
    );
}
