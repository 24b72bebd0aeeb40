import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import type { PolicyView } from '../../trust/policy.service';
import { cliText } from '../../shared/terminal-text';

function policyText(v: PolicyView): string {
  const lines = [cliText`Global:  ${v.global}`];
  for (const a of v.applications) lines.push(cliText`${a.application}:  ${a.policy}  (since ${a.updatedAt})`);
  if (!v.applications.length) lines.push('(no per-application overrides)');
  return lines.join('\n');
}

/** `scepter policy set|show`: the device-trust policy, global and per application. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('device-trust policy: allow-all, require-trusted or not-configured, global or per application');
  policy
    .command('set <policy>')
    .description('allow-all (checked and logged, everyone passes), require-trusted (untrusted devices denied), not-configured (no check)')
    .option('--application <app>', 'only for this application (an override of the global policy)')
    .action(async (value: string, opts: { application?: string }, cmd: Command) =>
      withServices(cmd, async ({ trustPolicy }) => {
        const v = await trustPolicy.set(value, opts.application, cliActor());
        output(cmd, v, () => policyText(v));
      }),
    );
  policy
    .command('show')
    .description('the global policy and every per-application override')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ trustPolicy }) => {
        const v = await trustPolicy.show();
        output(cmd, v, () => policyText(v));
      }),
    );
}
