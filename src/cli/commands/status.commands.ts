import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Config, publicUrlIsDefault } from '../../config/config';
import { configFilePath, loadHomeConfig } from '../../config/config-file';
import { homeVariable } from '../../config/environment';
import { CA_CERT_FILE, CA_KEY_FILE } from '../../ca/ca-material';
import { inspectDatabase } from '../../db/database-state';
import { pemDecode } from '../../pki/der';
import { ParsedCertificate } from '../../pki/certificate';
import { AppError, ConfigError } from '../../shared/errors';
import { output } from '../cli-context';
import { describeDatabase } from '../home-guard';

export interface HomeStatus {
  home: string;
  /** how the home was chosen: SCEPTER_HOME, the default, or init's --home */
  homeFrom: 'SCEPTER_HOME' | 'default (the checkout)' | '--home';
  configFile: string | null;
  database: { url: string; state: 'ready' | 'missing' | 'not set up' | 'unreachable'; error?: string; pendingMigrations: string[] };
  /** key: where the CA key lives, a file (and whether encrypted) or a pkcs11: URI; the token itself is not opened */
  ca: { dir: string; subject: string; sha256: string; notAfter: string; key: string } | { dir: string; missing: true };
  publicUrl: string;
  publicUrlIsDefault: boolean;
  adminApi: string;
  ready: boolean;
}

/** What the CLI (and a server started with the same environment) would use, changing nothing. */
export async function homeStatus(config: Config): Promise<HomeStatus> {
  const database: HomeStatus['database'] = { url: describeDatabase(config.databaseUrl), state: 'ready', pendingMigrations: [] };
  try {
    const db = await inspectDatabase(config.databaseUrl);
    database.state = !db.reachable ? 'missing' : !db.initialized ? 'not set up' : 'ready';
    database.pendingMigrations = db.pending;
  } catch (err) {
    database.state = 'unreachable';
    database.error = err instanceof Error ? err.message : String(err);
  }
  const certFile = path.join(config.certsDir, CA_CERT_FILE);
  let ca: HomeStatus['ca'] = { dir: config.certsDir, missing: true };
  if (fs.existsSync(certFile)) {
    const c = ParsedCertificate.fromDer(pemDecode(fs.readFileSync(certFile, 'utf8'), 'CERTIFICATE'));
    const key = config.pkcs11
      ? `PKCS#11 token ${config.pkcs11.keys.ca.uri.text}`
      : `${path.join(config.certsDir, CA_KEY_FILE)}${config.ca.passphrase ? ' (encrypted)' : ''}`;
    ca = { dir: config.certsDir, subject: c.subject, sha256: colonHex(c.fingerprintSha256), notAfter: c.notAfter.toISOString(), key };
  }
  return {
    home: config.home,
    homeFrom: homeVariable() ? 'SCEPTER_HOME' : 'default (the checkout)',
    configFile: config.configFile ?? null,
    database,
    ca,
    publicUrl: config.http.publicUrl,
    publicUrlIsDefault: publicUrlIsDefault(config),
    adminApi: config.admin ? `http://${config.admin.host}:${config.admin.port}/admin/v1` : `${config.http.publicUrl}/admin/v1 (public port)`,
    ready: database.state === 'ready' && !('missing' in ca),
  };
}

export const colonHex = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');

function text(s: HomeStatus): string {
  const db = s.database;
  const migrations =
    db.state !== 'ready'
      ? '-'
      : db.pendingMigrations.length
        ? `${db.pendingMigrations.length} pending (${db.pendingMigrations.join(', ')}); the server runs them at start`
        : 'up to date';
  return [
    `Home:         ${s.home} (${s.homeFrom})`,
    `Config file:  ${s.configFile ?? `none (looked for ${path.join(s.home, 'scepter.env')})`}`,
    `Database:     ${db.url} (${db.state}${db.error ? `: ${db.error}` : ''})`,
    `Migrations:   ${migrations}`,
    'missing' in s.ca ? `CA:           none in ${s.ca.dir}` : `CA:           ${s.ca.subject} (${s.ca.dir}, valid until ${s.ca.notAfter})`,
    ...('missing' in s.ca ? [] : [`CA SHA-256:   ${s.ca.sha256}`, `CA key:       ${s.ca.key}`]),
    `Public URL:   ${s.publicUrl}${s.publicUrlIsDefault ? '  WARNING: the localhost default; devices cannot reach it (set SCEPTER_PUBLIC_URL)' : ''}`,
    `Admin API:    ${s.adminApi}`,
    ...(s.ready ? [] : ['Not set up: start the server once here, or run `scepter init`']),
  ].join('\n');
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('which home, config file, database, CA and public URL this CLI uses (changes nothing; exit 1 when the home is not set up)')
    .action(async (_opts, cmd: Command) => {
      try {
        const s = await homeStatus(loadHomeConfig());
        output(cmd, s, () => text(s));
        if (!s.ready) process.exitCode = 1;
      } catch (err) {
        process.exitCode = err instanceof ConfigError ? 2 : 1;
        const message = err instanceof AppError || err instanceof Error ? err.message : String(err);
        if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify({ error: message, configFile: configFilePath() }) + '\n');
        else process.stderr.write(`scepter: ${message}\n`);
      }
    });
}
