import { Command } from 'commander';
import { GroupView } from '../../integrations/user-groups.service';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { cliText, escapeText } from '../../shared/terminal-text';
import { count } from '../../shared/plural';

const text = (g: GroupView) => cliText`Group:    ${g.name}\nMembers:  ${g.members.length ? g.members.join(', ') : '(none)'}\nCreated:  ${g.createdAt}`;

export function registerGroupCommands(program: Command): void {
  const group = program.command('group').description('user groups (an integration in status test-group is active for one group)');
  group
    .command('create <name>')
    .description('create a user group')
    .action(async (name: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const g = await groups.create(name, cliActor());
        output(cmd, g, () => text(g));
      }),
    );
  group
    .command('add-member <name> <user>')
    .description('add a user (created if new) to a group')
    .action(async (name: string, user: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const g = await groups.addMember(name, user, cliActor());
        output(cmd, g, () => `${g.added ? 'added' : 'already a member:'} ${escapeText(user)}\n${text(g)}`);
      }),
    );
  group
    .command('list')
    .description('user groups and their members')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const all = await groups.list();
        output(cmd, { groups: all }, () => (all.length ? all.map((g) => cliText`${g.name}  (${count(g.members.length, 'member')})`).join('\n') : 'no groups'));
      }),
    );
  group
    .command('show <name>')
    .description('one group and its members')
    .action(async (name: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ groups }) => {
        const g = await groups.show(name);
        output(cmd, g, () => text(g));
      }),
    );
}
