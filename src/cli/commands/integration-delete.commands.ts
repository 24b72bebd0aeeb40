import readline from 'node:readline/promises';
import { Command } from 'commander';
import { deletionPreviewText } from '../../ca/integration-deletion.service';
import { BadRequestError } from '../../shared/errors';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { commandGroup } from './cert.commands';
import { cliText } from '../../shared/terminal-text';

/**
 * `scepter integration delete ID [--yes] [--force]`: revokes every unexpired certificate the
 * integration issued, in the same transaction as the deletion, then republishes the CRL.
 */
export function registerIntegrationDeleteCommand(program: Command): void {
  commandGroup(program, 'integration', 'integrations (windows, macos, android, ios, ios-certs)')
    .command('delete <id>')
    .description(
      'delete an integration: revokes its unexpired certificates (cessationOfOperation), republishes the CRL; its SCEP and challenge URLs answer 404',
    )
    .option('--yes', 'do not ask for confirmation (scripts)')
    .option('--force', 'even when it is active and a device-trust policy requires trusted devices (locks its users out)')
    .action(async (id: string, opts: { yes?: boolean; force?: boolean }, cmd: Command) =>
      withServices(cmd, async ({ integrationDeletion }) => {
        const preview = await integrationDeletion.preview(id);
        process.stderr.write(`${deletionPreviewText(preview)}\n`);
        if (preview.refusal && !opts.force) throw new BadRequestError(`refused: ${preview.refusal} (--force)`);
        if (preview.refusal) process.stderr.write(cliText`warning: ${preview.refusal}; going ahead (--force)\n`);
        if (!opts.yes) await confirm(cliText`Delete ${preview.id} and revoke ${preview.certificates} certificate(s)?`);
        const r = await integrationDeletion.delete(id, { actor: cliActor(), force: opts.force });
        output(
          cmd,
          r,
          () => cliText`Deleted integration ${r.id}; revoked ${r.revoked} certificate(s) (cessationOfOperation); CRL number ${r.crlNumber ?? '-'} published`,
        );
      }),
    );
}

/** A yes on the terminal; without one, refuse (scripts say --yes). */
async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new BadRequestError('refusing to delete without --yes (no terminal to confirm on)');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (!/^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())) throw new BadRequestError('cancelled; nothing was changed');
  } finally {
    rl.close();
  }
}
