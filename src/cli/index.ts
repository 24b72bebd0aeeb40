#!/usr/bin/env node
import { Command } from 'commander';
import { registerCaCommands } from './commands/ca.commands';
import { registerIntegrationCommands } from './commands/integration.commands';
import { registerGroupCommands } from './commands/group.commands';
import { registerAdminCommands } from './commands/admin.commands';
import { registerAuditCommands } from './commands/audit.commands';
import { registerWs1Commands } from './commands/ws1.commands';
import { registerPolicyCommands } from './commands/policy.commands';
import { registerTrustCommands } from './commands/trust.commands';
import { registerCertCommands } from './commands/cert.commands';
import { registerDeviceRevocationCommands } from './commands/device.commands';
import { registerIntegrationDeleteCommand } from './commands/integration-delete.commands';
import { registerMigrateCommands } from './commands/migrate.commands';
import { registerInitCommand } from './commands/init.commands';
import { registerStatusCommand } from './commands/status.commands';
import { registerRetentionCommands } from './commands/retention.commands';
import { registerBackupCommands } from './commands/backup.commands';
import { registerListCommands } from './commands/list.commands';
import { registerAdminEditCommands } from './commands/admin-edits.commands';

/**
 * `scepter`: every admin action, each with --json for scripts. Command groups live in
 * ./commands/<group>.commands.ts and register themselves here.
 */
export function buildProgram(opts: { json?: boolean } = {}): Command {
  // set before the commands are added: subcommands copy these settings when created
  const program = new Command('scepter')
    .description('Scepter: SCEP certificate authority and device-trust migration service')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError(!opts.json)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => (opts.json ? undefined : write(s)) });
  registerInitCommand(program); // sets a home up: config file, database, CA
  registerStatusCommand(program); // which home, database, CA and public URL the CLI uses
  registerCaCommands(program);
  registerIntegrationCommands(program);
  registerGroupCommands(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerPolicyCommands(program);
  registerTrustCommands(program); // auth-log; finds or creates the device group for `device show`
  registerCertCommands(program); // cert revoke|list
  registerDeviceRevocationCommands(program); // device revoke
  registerIntegrationDeleteCommand(program); // integration delete (revokes its certificates)
  registerMigrateCommands(program); // migrate ..., migrate-all
  registerRetentionCommands(program); // retention run
  registerBackupCommands(program); // backup, restore
  registerListCommands(program); // cert list, device list, inventory list (--json, --csv)
  registerAdminEditCommands(program); // group remove-member|delete, integration rename, policy remove
  registerWs1Commands(program); // keep last: it adds to the integration and device groups
  return program;
}

if (require.main === module) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  void (require('./run') as typeof import('./run')).runCli(process.argv);
}
