import { Command, InvalidArgumentError } from 'commander';
import { output, withServices } from '../cli-context';
import { escapeText } from '../../shared/terminal-text';

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('a number from 1 to 1000');
  return n;
}

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description('the audit log of admin changes (who, what, when, from where), oldest first')
    .option('--limit <n>', 'the latest N entries', positive, 100)
    .option('--action <action>', 'only this action, e.g. integration.create')
    .action(async (opts: { limit: number; action?: string }, cmd: Command) =>
      withServices(cmd, async ({ audit }) => {
        const entries = await audit.list({ limit: opts.limit, action: opts.action });
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
