import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { cliText } from '../../shared/terminal-text';

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the certificate authority');
  ca.command('show')
    .description('CA subject, validity and fingerprints')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ authority }) => {
        const c = authority.caCertificate;
        const info = { subject: c.subject, serial: c.serialHex, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), sha256: c.fingerprintSha256.toUpperCase(), ra: Boolean(authority.material.raSigning) };
        output(cmd, info, () => cliText`Subject:      ${info.subject}\nSerial:       ${info.serial}\nValid:        ${info.notBefore} .. ${info.notAfter}\nSHA-256:      ${info.sha256}\nRA pair:      ${info.ra ? 'yes' : 'no'}`);
      }),
    );
}
