import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { loadConfig } from '../../config/config';
import { CONFIG_FILE_NAME, defaultHome } from '../../config/home';
import { environmentWith, homeVariable } from '../../config/environment';
import { CA_CERT_FILE, CA_KEY_FILE } from '../../ca/ca-material';
import { buildServices } from '../../main';
import { AppError, ConfigError } from '../../shared/errors';
import { cliLogger, output } from '../cli-context';
import { shellWord } from '../shell-word';
import { homeStatus } from './status.commands';

interface InitOptions {
  home?: string;
  publicUrl?: string;
  caName?: string;
  keyBits?: string;
  passphraseFile?: string;
  caKey?: string;
  pkcs11Module?: string;
  pkcs11PinFile?: string;
  ra?: 'on' | 'off';
  port?: string;
  database?: string;
  force?: boolean;
  interactive?: boolean;
}

// what init writes, in this order, with the flag that sets each
const SETTINGS: [keyof InitOptions, string, string][] = [
  ['publicUrl', 'SCEPTER_PUBLIC_URL', 'public URL devices and WS1 reach (written into every certificate)'],
  ['port', 'SCEPTER_HTTP_PORT', 'HTTP port'],
  ['database', 'SCEPTER_DATABASE', 'database (SQLite path relative to the home, or postgres:// URL)'],
  ['caName', 'SCEPTER_CA_COMMON_NAME', 'CA common name'],
  ['keyBits', 'SCEPTER_CA_KEY_BITS', 'CA key size (2048, 3072 or 4096)'],
  ['passphraseFile', 'SCEPTER_CA_KEY_PASSPHRASE_FILE', 'file holding the CA key passphrase (empty: unencrypted key)'],
  ['caKey', 'SCEPTER_CA_KEY', 'pkcs11: URI of the CA key in a token (empty: key files)'],
  ['pkcs11Module', 'SCEPTER_PKCS11_MODULE', 'the PKCS#11 module of the token'],
  ['pkcs11PinFile', 'SCEPTER_PKCS11_PIN_FILE', 'file holding the token PIN'],
  ['ra', 'SCEPTER_RA', 'split RA pair for WS1 NDES mode (on/off)'],
];

/** Asks for what the flags left out, offering a default; only on a terminal. */
async function ask(o: InitOptions): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // the line iterator keeps answers typed (or pasted) ahead of their question
  const lines = rl[Symbol.asyncIterator]();
  try {
    const q = async (key: keyof InitOptions, question: string, fallback: string) => {
      if (o[key] !== undefined) return;
      process.stderr.write(`${question} [${fallback}]: `);
      const next = await lines.next();
      if (next.done) throw new ConfigError('SCEPTER_HOME', 'init: input ended before every question was answered');
      (o as Record<string, unknown>)[key] = String(next.value).trim() || fallback;
    };
    await q('publicUrl', 'Public URL devices and WS1 use, e.g. https://scepter.example.com (- for none yet: localhost only)', '-');
    if (o.publicUrl === '-') o.publicUrl = undefined;
    await q('caName', 'CA common name', 'Scepter Device CA');
    await q('keyBits', 'CA key size (2048, 3072, 4096)', '3072');
    await q('passphraseFile', 'File holding the CA key passphrase (- for none)', '-');
    if (o.passphraseFile === '-') o.passphraseFile = undefined;
    await q('ra', 'Split RA pair for WS1 NDES mode (on/off)', 'off');
  } finally {
    rl.close();
  }
}

function configFileText(values: [string, string][]): string {
  const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `"${v.replace(/(["\\$])/g, '\\$1')}"`);
  return [
    '# Scepter configuration, read by the server and the `scepter` CLI of this home.',
    '# Environment variables override these values. Every variable is described in the README.',
    ...values.map(([k, v]) => `${k}=${quote(v)}`),
    '',
  ].join('\n');
}

/** Writes the file with mode 0600 through a temporary file, so a reader never sees half of it. */
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

async function init(o: InitOptions, cmd: Command): Promise<void> {
  const json = Boolean(cmd.optsWithGlobals().json);
  const home = path.resolve(o.home ?? homeVariable() ?? defaultHome());
  const file = path.join(home, CONFIG_FILE_NAME);
  if (fs.existsSync(file) && !o.force) throw new ConfigError('SCEPTER_HOME', `${file} exists already (--force rewrites it; the CA and database are kept)`);
  if (o.interactive !== false && process.stdin.isTTY && !json) await ask(o);
  if (o.ra !== undefined && o.ra !== 'on' && o.ra !== 'off') throw new ConfigError('SCEPTER_RA', `--ra must be on or off (got ${JSON.stringify(o.ra)})`);
  if (o.passphraseFile) o.passphraseFile = path.resolve(o.passphraseFile);
  if (o.pkcs11PinFile) o.pkcs11PinFile = path.resolve(o.pkcs11PinFile);
  const values = SETTINGS.flatMap(([key, name]) => (o[key] !== undefined ? [[name, String(o[key])] as [string, string]] : []));
  // validated like the server would, before anything is written; the flags win over the environment here
  const env = environmentWith({ SCEPTER_HOME: home, ...Object.fromEntries(values) });
  const preview = loadConfig(env);
  // a CA whose key is in a token shows in the certs directory only as its certificate
  if (fs.existsSync(path.join(preview.certsDir, preview.pkcs11 ? CA_CERT_FILE : CA_KEY_FILE)) && !o.force) {
    throw new ConfigError('SCEPTER_CERTS_DIR', `a CA exists already in ${preview.certsDir} (--force writes the config file and keeps that CA)`);
  }
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  // the config file is written once the database and the CA exist: a failed init leaves none
  const config = { ...preview, configFile: file };
  const where = config.pkcs11 ? `, key in token ${config.pkcs11.keys.ca.uri.text}` : '';
  if (!json) process.stderr.write(`Creating the database and the CA (${config.ca.keyBits}-bit key${where}) in ${home} ...\n`);
  // keys missing from a token are generated there (non-extractable); the server itself never generates them
  const services = await buildServices(config, { logger: cliLogger(config), generateTokenKeys: true });
  const created = services.caCreated;
  await services.keys.close();
  await services.db.close();
  writePrivate(file, configFileText(values));
  const s = { ...(await homeStatus(config)), ...(o.home ? { homeFrom: '--home' as const } : {}) };
  const fingerprint = 'missing' in s.ca ? null : s.ca.sha256;
  output(cmd, { ...s, caCreated: created }, () =>
    [
      `Home:         ${home}`,
      `Config file:  ${file} (mode 0600)`,
      `Database:     ${s.database.url} (${s.database.state})`,
      `CA:           ${created ? 'created' : 'kept the existing one'} in ${config.certsDir}`,
      `CA SHA-256:   ${fingerprint ?? '-'}`,
      `Public URL:   ${s.publicUrl}${s.publicUrlIsDefault ? '  WARNING: the localhost default; set it with --public-url before enrolling devices' : ''}`,
      '',
      `Next: SCEPTER_HOME=${shellWord(home)} npm start   (or \`scepter status\` to check)`,
    ].join('\n'),
  );
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('set up a home: config file (mode 0600), database and CA; asks for missing values on a terminal')
    .option('--home <dir>', 'the home to set up (default: SCEPTER_HOME, else the checkout)')
    .option('--public-url <url>', 'public base URL devices and WS1 reach, e.g. https://scepter.example.com')
    .option('--port <port>', 'HTTP port (default 8080)')
    .option('--database <path-or-url>', 'SQLite file (relative to the home) or postgres:// URL (default data/scepter.sqlite)')
    .option('--ca-name <cn>', 'CA common name (default "Scepter Device CA")')
    .option('--key-bits <bits>', 'CA key size: 2048, 3072 or 4096 (default 3072)')
    .option('--passphrase-file <file>', 'encrypt the CA and RA keys with the passphrase in this file (read at every start)')
    .option(
      '--ca-key <pkcs11-uri>',
      'keep the CA and RA keys in a PKCS#11 token: the CA key\'s RFC 7512 URI, e.g. "pkcs11:token=scepter;object=scepter-ca" (generated there if missing)',
    )
    .option('--pkcs11-module <path>', "the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so")
    .option('--pkcs11-pin-file <file>', "file (mode 0600) holding the token's user PIN")
    .addOption(new Option('--ra <mode>', 'split RA pair for WS1 NDES mode').choices(['on', 'off']))
    .option('--no-interactive', 'never ask, even on a terminal')
    .option('--force', 'rewrite an existing config file (an existing CA and database are kept, never replaced)')
    .action(async (opts: InitOptions, cmd: Command) => {
      try {
        await init({ ...opts }, cmd);
      } catch (err) {
        process.exitCode = err instanceof ConfigError ? 2 : 1;
        const message = err instanceof AppError || err instanceof Error ? err.message : String(err);
        if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
        else process.stderr.write(`scepter: ${message}\n`);
      }
    });
}
