import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { commandGroup } from './cert.commands';
import { NotFoundError } from '../../shared/errors';
import type { AuthLogEntry } from '../../trust/trust.types';
import { AUTH_LOG_PAGE, type DeviceView } from '../../trust/auth-log.service';
import { pageLimit } from '../../shared/paging';
import { cliText, escapeText } from '../../shared/terminal-text';

const entryJson = (e: AuthLogEntry) => ({ ...e, at: e.at.toISOString() });

function entryLine(e: AuthLogEntry): string {
  const who = [e.integration, e.device, e.serial].filter(Boolean).map(escapeText).join(' ');
  return [
    e.at.toISOString(),
    e.decision.padEnd(5),
    e.trusted ? 'trusted  ' : 'untrusted',
    escapeText(e.reason),
    cliText`user=${e.user}`,
    cliText`app=${e.application ?? '-'}`,
    cliText`from=${e.sourceAddress}`,
    who,
    escapeText(e.note ?? ''),
  ]
    .join('  ')
    .trimEnd();
}

function deviceText(v: DeviceView): string {
  const lines = [cliText`Device:       ${v.device}`, cliText`Integrations: ${v.integrations.join(', ') || '-'}`];
  const last = v.lastLogin;
  lines.push(
    `Last login:   ${last ? cliText`${last.at.toISOString()} user=${last.user} ${last.decision} (${last.reason}) from ${last.sourceAddress}` : 'never'}`,
  );
  lines.push('Certificates:');
  for (const c of v.certificates) {
    lines.push(
      cliText`  ${c.serial}  ${c.state.padEnd(10)}  ${c.notBefore} .. ${c.notAfter}  integration=${c.integrationId ?? '-'}  last seen ${c.lastSeenAt ?? 'never'}`,
    );
  }
  if (!v.certificates.length) lines.push('  (none)');
  return lines.join('\n');
}

/**
 * `scepter auth-log` and `scepter device show`. The `device` group is shared with the revocation
 * commands (device revoke): find it or create it, whichever file registers first.
 */
export function registerTrustCommands(program: Command): void {
  program
    .command('auth-log')
    .description('the authentication log: every device-trust check, oldest first')
    .option('--user <user>', 'only this user')
    .option('--since <time>', 'ISO 8601 time or a duration back from now (15m, 2h, 7d)')
    .option('--limit <n>', `the latest N entries, 1 to ${AUTH_LOG_PAGE.max}`, String(AUTH_LOG_PAGE.fallback))
    .action(async (opts: { user?: string; since?: string; limit: string }, cmd: Command) =>
      withServices(cmd, async ({ authLog }) => {
        const entries = await authLog.list({ ...opts, limit: pageLimit(opts.limit, AUTH_LOG_PAGE.max, AUTH_LOG_PAGE.fallback) });
        output(cmd, { entries: entries.map(entryJson) }, () => (entries.length ? entries.map(entryLine).join('\n') : 'no matching checks'));
      }),
    );

  const device = commandGroup(program, 'device', 'devices: their certificates and logins');
  device
    .command('show <udid>')
    .description("a device's certificates, integration and last login")
    .action(async (udid: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ authLog }) => {
        const v = await authLog.device(udid);
        if (!v) throw new NotFoundError(`no certificates and no logins for device ${udid.slice(0, 80)}`); // escaped where errors are printed
        output(cmd, { ...v, lastLogin: v.lastLogin && entryJson(v.lastLogin) }, () => deviceText(v));
      }),
    );
}
