import { Command } from 'commander';
import { revokeResultJson } from '../../ca/revocation.presenter';
import { REVOCATION_REASONS } from '../../pki/revocation-reason';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { cliText } from '../../shared/terminal-text';

export const REASON_HELP = `RFC 5280 reason: ${REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL').join(', ')} (or its code)`;

/** Find-or-create a command group, so files may register in any order. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** `scepter cert revoke` (`cert list` is in list.commands.ts): certificates by serial (hex as `openssl x509 -serial` prints it). */
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
}
