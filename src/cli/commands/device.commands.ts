import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { commandGroup, REASON_HELP } from './cert.commands';
import { cliText } from '../../shared/terminal-text';

/** `scepter device revoke`: every unexpired certificate of one device in one integration. */
export function registerDeviceRevocationCommands(program: Command): void {
  const device = commandGroup(program, 'device', 'devices: their certificates and logins');
  device
    .command('revoke <integration> <udid>')
    .description("revoke all of one device's unexpired certificates (integration id + device UDID)")
    .option('--reason <reason>', REASON_HELP, 'unspecified')
    .action(async (integration: string, udid: string, opts: { reason: string }, cmd: Command) =>
      withServices(cmd, async ({ revocation }) => {
        const r = await revocation.revokeDevice(integration, udid, { reason: opts.reason, actor: cliActor() });
        output(cmd, { integrationId: integration, deviceId: udid, ...r }, () =>
          r.revoked
            ? cliText`Revoked ${r.revoked} certificate(s) of device ${udid} (${r.reason}); ${r.certificates - r.revoked} were already revoked or expired`
            : cliText`Nothing to revoke: the ${r.certificates} certificate(s) of device ${udid} are already revoked or expired`,
        );
      }),
    );
}
