import os from 'node:os';
import { Command, Option } from 'commander';
import { Actor } from '../../admin/audit.types';
import { ROLES, Role } from '../../admin/roles';
import { output, withServices } from '../cli-context';

/** The CLI acts as `cli:<os user>` from `cli` in the audit log (it has the database anyway). */
export function cliActor(): Actor {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
  return { who: `cli:${user}`, from: 'cli' };
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('admin API keys');
  admin
    .command('create-key')
    .description('create an admin API key; it is printed once and stored only as a hash')
    .addOption(new Option('--role <role>', 'what the key may do').choices([...ROLES]).makeOptionMandatory())
    .action(async (opts: { role: Role }, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        const k = await apiKeys.create(opts.role, cliActor());
        output(cmd, k, () => `${k.key}\n(key ${k.id}, role ${k.role}: store it now, it is not shown again; use it as "Authorization: Bearer <key>")`);
      }),
    );
  admin
    .command('list-keys')
    .description('API keys (ids and roles, never the secrets)')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        const keys = await apiKeys.list();
        output(cmd, { keys }, () => (keys.length ? keys.map((k) => `${k.id}  ${k.role.padEnd(19)}  created ${k.createdAt} by ${k.createdBy}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}`).join('\n') : 'no API keys'));
      }),
    );
  admin
    .command('revoke-key <id>')
    .description('revoke an API key')
    .action(async (id: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        await apiKeys.revoke(id, cliActor());
        output(cmd, { id, revoked: true }, () => `revoked ${id}`);
      }),
    );
}
