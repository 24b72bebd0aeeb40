import { Command } from 'commander';
import { output, withServices } from '../cli-context';
import { loadHomeConfig } from '../../config/config-file';
import { encryptKeyFiles } from '../../ca/key-encryption';
import { importKeyFiles } from '../../ca/key-import';
import { ConfigError } from '../../shared/errors';
import { restrictUmask } from '../../shared/secure-file';
import { caGenerationsView, generationsText } from './ca-show.presenter';
import { cliActor } from './admin.commands';

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the certificate authority');
  ca.command('show')
    .description('the CA issuing now and the next one (rollover): subjects, validity, fingerprints, activation time, link certificates')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async (s) => {
        const view = caGenerationsView(s.authority, s.config);
        output(cmd, view, () => generationsText(view));
      }),
    );
  ca.command('rollover')
    .description('create the next CA (new key and certificate, RA pair, link certificates); it starts issuing at --activate-at (default: now)')
    .option('--activate-at <time>', 'ISO 8601 time (e.g. 2027-01-15T06:00:00Z) at which the new CA starts issuing; on a scheduled rollover, moves it')
    .option('--common-name <cn>', 'subject CN of the new CA (default: the first CA\'s with " G<generation>")')
    .action(async (opts: { activateAt?: string; commonName?: string }, cmd: Command) =>
      withServices(
        cmd,
        async (s) => {
          let activateAt: Date | undefined;
          if (opts.activateAt !== undefined) {
            activateAt = new Date(opts.activateAt);
            if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(opts.activateAt) || Number.isNaN(activateAt.getTime()))
              throw new ConfigError('--activate-at', 'must be an ISO 8601 time with a time zone, e.g. 2027-01-15T06:00:00Z');
          }
          if (opts.commonName !== undefined && !/^[\x20-\x7e]{1,64}$/.test(opts.commonName))
            throw new ConfigError('--common-name', 'must be 1 to 64 printable ASCII characters');
          const { generation, created } = await s.caGenerations.rollover([...s.authority.all], { activateAt, commonName: opts.commonName });
          if (created) s.authority.addGeneration(generation);
          else s.authority.reschedule(generation.generation, generation.activateAt);
          await s.audit.record(cliActor(), created ? 'ca.rollover' : 'ca.rollover.reschedule', `ca-generation:${generation.generation}`, {
            activateAt: generation.activateAt.toISOString(),
            sha256: generation.material.ca.certificate.fingerprintSha256,
          });
          const view = caGenerationsView(s.authority, s.config);
          output(cmd, { created, generation: generation.generation, ...view }, () =>
            [
              created
                ? `Created CA generation ${generation.generation}; it starts issuing at ${generation.activateAt.toISOString()}.`
                : `CA generation ${generation.generation} now starts issuing at ${generation.activateAt.toISOString()}.`,
              'Running servers pick it up within 30 seconds. Back up the certs directory and the database now.',
              '',
              generationsText(view),
            ].join('\n'),
          );
        },
        // with the CA key in a PKCS#11 token, the next generation's keys are generated inside it
        { generateTokenKeys: true },
      ),
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
