import { Command, InvalidArgumentError, Option } from 'commander';
import { certificateJson, revokeResultJson } from '../../ca/revocation.presenter';
import { MAX_LIST_LIMIT } from '../../ca/revocation.service';
import { REVOCATION_REASONS } from '../../pki/revocation-reason';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { cliText, escapeText } from '../../shared/terminal-text';

export const REASON_HELP = `RFC 5280 reason: ${REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL').join(', ')} (or its code)`;

/** Find-or-create a command group, so files may register in any order. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

function positiveInt(what: string) {
  return (v: string): number => {
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError(`${what} must be a whole number`);
    return Number(v);
  };
}

/** `scepter cert revoke|list`: certificates by serial (hex as `openssl x509 -serial` prints it). */
export function registerCertCommands(program: Command): void {
  const cert = commandGroup(program, 'cert', 'certificates this CA issued');
  cert
    .command('revoke <serial>')
    .description('revoke one certificate (serial in hex; colons and either case accepted); revoking twice changes nothing')
    .option('--reason <reason>', REASON_HELP, 'unspecified')
    .action(async (serial: string, opts: { reason: string }, cmd: Command) =>
      withServices(cmd, async ({ revocation }) => {
        const r = await revocation.revoke(serial, { reason: opts.reason, actor: cliActor() });
        output(cmd, revokeResultJson(r), () =>
          r.revoked
            ? cliText`Revoked ${r.serial} (${r.reason}) at ${r.revokedAt.toISOString()}; the CRL and OCSP say so within a second`
            : cliText`${r.serial} was already revoked at ${r.revokedAt.toISOString()} (${r.reason}); nothing changed`,
        );
      }),
    );
  cert
    .command('list')
    .description('issued certificates, oldest first (valid includes superseded ones, usable until they expire)')
    .option('--integration <id>', 'only this integration')
    .addOption(new Option('--status <status>', 'only these').choices(['valid', 'revoked', 'expired']))
    .option('--limit <n>', `at most this many (1 to ${MAX_LIST_LIMIT})`, positiveInt('--limit'), 1000)
    .option('--after <id>', 'page on: only certificates listed after this id', positiveInt('--after'))
    .action(async (opts: { integration?: string; status?: 'valid' | 'revoked' | 'expired'; limit: number; after?: number }, cmd: Command) =>
      withServices(cmd, async ({ revocation }) => {
        const list = await revocation.list({ integrationId: opts.integration, status: opts.status, limit: opts.limit, afterId: opts.after });
        const more = list.length === opts.limit ? list[list.length - 1]!.id : undefined;
        output(cmd, { certificates: list.map(certificateJson), next: more ?? null }, () => {
          if (!list.length) return 'no certificates';
          const header = ['SERIAL'.padEnd(32), 'STATUS'.padEnd(10), 'NOT AFTER ', 'INTEGRATION'.padEnd(12), 'DEVICE'.padEnd(16), 'SUBJECT'].join('  ');
          const lines = [header, ...list.map((c) =>
            [escapeText(c.serial).padEnd(32), c.status.padEnd(10), c.notAfter.toISOString().slice(0, 10), escapeText(c.integrationId ?? '-').padEnd(12), escapeText(c.deviceId ?? '-').padEnd(16), escapeText(c.subject)].join('  '),
          )];
          if (more !== undefined) lines.push(`(more: --after ${more})`);
          return lines.join('\n');
        });
      }),
    );
}
