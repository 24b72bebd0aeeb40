import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { cliText } from '../../shared/terminal-text';
import { loadHomeConfig } from '../../config/config-file';
import { encryptKeyFiles } from '../../ca/key-encryption';
import { importKeyFiles } from '../../ca/key-import';
import { ConfigError } from '../../shared/errors';
import { restrictUmask } from '../../shared/secure-file';

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the certificate authority');
  ca.command('show')
    .description('CA subject, validity and fingerprints')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ authority }) => {
        const c = authority.caCertificate;
        const info = {
          subject: c.subject,
          serial: c.serialHex,
          notBefore: c.notBefore.toISOString(),
          notAfter: c.notAfter.toISOString(),
          sha256: c.fingerprintSha256.toUpperCase(),
          ra: Boolean(authority.material.raSigning),
        };
        output(
          cmd,
          info,
          () =>
            cliText`Subject:      ${info.subject}\nSerial:       ${info.serial}\nValid:        ${info.notBefore} .. ${info.notAfter}\nSHA-256:      ${info.sha256}\nRA pair:      ${info.ra ? 'yes' : 'no'}`,
        );
      }),
    );
  ca.command('generate-keys')
    .description('generate the CA and RA keys missing from the PKCS#11 token (SCEPTER_CA_KEY), non-extractable, and their certificates')
    .action(async (_opts, cmd: Command) =>
      withServices(
        cmd,
        async ({ config, keys, authority }) => {
          if (!config.pkcs11) throw new ConfigError('SCEPTER_CA_KEY', 'is not a pkcs11: URI: key files are created by the server on its first start');
          const roles = authority.material.raSigning ? (['ca', 'raSign', 'raEncrypt'] as const) : (['ca'] as const);
          const r = { keys: roles.map((role) => ({ role, uri: keys.where(role) })) };
          output(cmd, r, () => r.keys.map((k) => `${k.role}: ${k.uri}`).join('\n'));
        },
        { generateTokenKeys: true },
      ),
    );
  ca.command('import-keys')
    .description('copy the CA and RA key files into the PKCS#11 token named by SCEPTER_CA_KEY, once (sensitive and non-extractable there)')
    .action(async (_opts, cmd: Command) => {
      restrictUmask();
      const json = Boolean(cmd.optsWithGlobals().json);
      try {
        const r = await importKeyFiles(loadHomeConfig());
        output(cmd, r, () =>
          [
            ...r.imported.map((i) => `imported ${i.from} -> ${i.to}`),
            'The key files are still on disk: check that the server starts with the token, then move them offline or destroy them.',
          ].join('\n'),
        );
      } catch (err) {
        process.exitCode = err instanceof ConfigError ? 2 : 1;
        const message = err instanceof Error ? err.message : String(err);
        if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
        else process.stderr.write(`scepter: ${message}\n`);
      }
    });
  ca.command('encrypt-key')
    .description('encrypt the CA, RA and OCSP signer keys on disk with SCEPTER_CA_KEY_PASSPHRASE (each file rewritten atomically, 0600)')
    .action((_opts, cmd: Command) => {
      restrictUmask();
      const json = Boolean(cmd.optsWithGlobals().json);
      try {
        const config = loadHomeConfig();
        if (!config.ca.passphrase) throw new ConfigError('SCEPTER_CA_KEY_PASSPHRASE', 'set it to the passphrase the keys are to be encrypted with');
        const r = encryptKeyFiles(config.certsDir, config.ca.passphrase);
        output(cmd, r, () => [...r.encrypted.map((f) => `encrypted ${f}`), ...r.alreadyEncrypted.map((f) => `already encrypted ${f}`)].join('\n'));
      } catch (err) {
        process.exitCode = err instanceof ConfigError ? 2 : 1;
        const message = err instanceof Error ? err.message : String(err);
        if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
        else process.stderr.write(`scepter: ${message}\n`);
      }
    });
}
