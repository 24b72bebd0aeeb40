import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { commandGroup } from './cert.commands';

/**
 * Undoing what other commands set up: `group remove-member`, `group delete`, `integration rename`,
 * `policy remove`. Each writes an audit entry in the same transaction as the change.
 */
export function registerAdminEditCommands(program: Command): void {
  const group = commandGroup(program, 'group', 'user groups (an integration in status test-group is active for one group)');
  group
    .command('remove-member <name> <user>')
    .description('remove a user from a group (the user stays known)')
    .action(async (name: string, user: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const g = await groups.removeMember(name, user, cliActor());
        output(
          cmd,
          g,
          () => `${g.removed ? 'removed' : 'not a member:'} ${user}\nGroup:    ${g.name}\nMembers:  ${g.members.length ? g.members.join(', ') : '(none)'}`,
        );
      }),
    );
  group
    .command('delete <name>')
    .description('delete a group and its memberships (refused while an integration in status test-group uses it)')
    .action(async (name: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const r = await groups.delete(name, cliActor());
        output(cmd, r, () => `deleted group ${r.name} (${r.members} ${r.members === 1 ? 'member' : 'members'} removed from it)`);
      }),
    );
  const integration = commandGroup(program, 'integration', 'integrations (windows, macos, android, ios, ios-certs)');
  integration
    .command('rename <id> <name>')
    .description('change the display name of an integration (its id, URLs and certificates stay)')
    .action(async (id: string, name: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const v = await integrations.rename(id, name, cliActor());
        output(cmd, v, () => `${v.id}: name ${v.name}`);
      }),
    );
  const policy = commandGroup(program, 'policy', 'device-trust policy: allow-all, require-trusted or not-configured, global or per application');
  policy
    .command('remove <application>')
    .description("remove an application's policy override: the global policy applies to it again")
    .action(async (application: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ trustPolicy }) => {
        const v = await trustPolicy.removeOverride(application, cliActor());
        output(cmd, v, () => `removed the override of ${application}; it follows the global policy (${v.global}) again`);
      }),
    );
}
