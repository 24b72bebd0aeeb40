import os from 'node:os';
import { Command, Option } from 'commander';
import { Actor } from '../../admin/audit.types';
import { ROLES, Role } from '../../admin/roles';
import { userVariable } from '../../config/environment';
import { InvalidArgumentError } from 'commander';
import { output, withServices } from '../cli-context';
import { cliText } from '../../shared/terminal-text';

/** The CLI acts as `cli:<os user>` from `cli` in the audit log (it has the database anyway). */
export function cliActor(): Actor {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = userVariable() ?? String(process.getuid?.() ?? 'unknown');
  }
  return { who: `cli:${user}`, from: 'cli' };
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('admin API keys and web console users');
  admin
    .command('create-key')
    .description('create an admin API key; it is printed once and stored only as a hash')
    .addOption(new Option('--role <role>', 'what the key may do').choices([...ROLES]).makeOptionMandatory())
    .option('--name <name>', 'what the key is for (shown by list-keys), e.g. "WS1 migration script"')
    .option(
      '--expires <when>',
      'refuse the key after this: an ISO 8601 date/time (2027-01-31, 2027-01-31T12:00:00Z) or a duration from now (90d, 12h)',
      parseExpiry,
    )
    .action(async (opts: { role: Role; name?: string; expires?: Date }, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        const k = await apiKeys.create(opts.role, cliActor(), { name: opts.name, expiresAt: opts.expires });
        output(
          cmd,
          k,
          () =>
            cliText`${k.key}\n(key ${k.id}${k.name ? ` "${k.name}"` : ''}, role ${k.role}${k.expiresAt ? `, expires ${k.expiresAt}` : ''}: store it now, it is not shown again; use it as "Authorization: Bearer <key>")`,
        );
      }),
    );
  admin
    .command('list-keys')
    .description('API keys (ids and roles, never the secrets)')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        const keys = await apiKeys.list();
        output(cmd, { keys }, () =>
          keys.length
            ? keys
                .map((k) => {
                  const state = k.revokedAt
                    ? `REVOKED ${k.revokedAt}`
                    : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
                      ? `EXPIRED ${k.expiresAt}`
                      : `expires ${k.expiresAt ?? 'never'}`;
                  return cliText`${k.id}  ${k.role.padEnd(19)}  ${(k.name ?? '-').padEnd(24)}  created ${k.createdAt} by ${k.createdBy}  last used ${k.lastUsedAt ?? 'never'}  ${state}`;
                })
                .join('\n')
            : 'no API keys',
        );
      }),
    );
  admin
    .command('create-user')
    .description('create a person who signs in to the web console (/console); the password and the authenticator secret are printed once')
    .requiredOption('--name <name>', "the person's name, as the audit log shows it")
    .requiredOption('--email <email>', 'what they sign in with')
    .addOption(new Option('--role <role>', 'what they may do').choices([...ROLES]).makeOptionMandatory())
    .option('--totp', 'enrol an authenticator also for roles that do not need one (owners and administrators always get one)')
    .option('--password-stdin', 'read the password from the first line of standard input instead of generating one')
    .action(async (opts: { name: string; email: string; role: Role; totp?: boolean; passwordStdin?: boolean }, cmd: Command) =>
      withServices(cmd, async ({ adminUsers }) => {
        const password = opts.passwordStdin ? await firstLineOfStdin() : undefined;
        const c = await adminUsers.create({ name: opts.name, email: opts.email, role: opts.role, password, totp: opts.totp }, cliActor(), 'cli');
        output(cmd, c, () =>
          [
            cliText`admin user ${c.user.id} ${c.user.email} (${c.user.role})`,
            ...(c.password ? [cliText`password: ${c.password}`] : []),
            ...(c.totp ? [cliText`authenticator secret: ${c.totp.secret}`, cliText`otpauth URI: ${c.totp.uri}`] : []),
            '(shown once: hand them over privately; the password can be changed under Account in the console)',
          ].join('\n'),
        );
      }),
    );
  admin
    .command('list-users')
    .description('people who sign in to the web console (never their passwords or secrets)')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ adminUsers }) => {
        const users = await adminUsers.list();
        output(cmd, { users }, () =>
          users.length
            ? users
                .map(
                  (u) =>
                    cliText`${u.id}  ${u.role.padEnd(19)}  ${u.email}  "${u.name}"  ${u.totp ? 'totp' : 'no second factor'}  last sign-in ${u.lastSignInAt ?? 'never'}${u.disabledAt ? `  DISABLED ${u.disabledAt}` : ''}`,
                )
                .join('\n')
            : 'no admin users',
        );
      }),
    );
  admin
    .command('revoke-key <id>')
    .description('revoke an API key')
    .action(async (id: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ apiKeys }) => {
        await apiKeys.revoke(id, cliActor());
        output(cmd, { id, revoked: true }, () => cliText`revoked ${id}`);
      }),
    );
}

/** `--expires`: an ISO 8601 date (midnight UTC) or date-time, or a duration from now (90d, 12h, 30m). */
export function parseExpiry(v: string, now = new Date()): Date {
  const dur = /^(\d{1,6})([mhd])$/.exec(v);
  if (dur) return new Date(now.getTime() + Number(dur[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[dur[2] as 'm' | 'h' | 'd']);
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v)) {
    const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new InvalidArgumentError('an ISO 8601 date or date-time with a time zone (2027-01-31, 2027-01-31T12:00:00Z) or a duration (90d, 12h, 30m)');
}

/** The first line of standard input (a password piped in, never an argument that `ps` would show). */
async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!;
}
