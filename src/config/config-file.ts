import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { ConfigError } from '../shared/errors';
import { Config, loadConfig, SECRET_SETTINGS, SETTING_NAMES } from './config';
import { checkSecretsPrivate } from './strict-settings';
import { CONFIG_FILE_NAME, homeOf } from './home';

// settings read outside the schema (still documented in the README's configuration table)
const OTHER_SETTINGS = new Set(['SCEPTER_RSA_THREADS']);

/** `<home>/scepter.env`: where the server and the CLI look for their configuration file. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(homeOf(env), CONFIG_FILE_NAME);
}

/**
 * Reads a dotenv-style configuration file. Only Scepter settings belong there; a misspelt or
 * foreign name is refused with the file and line, rather than silently ignored.
 */
export function readConfigFile(file: string): Record<string, string> {
  const text = fs.readFileSync(file, 'utf8');
  const values = dotenv.parse(text);
  checkSecretsPrivate(
    file,
    Object.keys(values).filter((name) => SECRET_SETTINGS.includes(name)),
  );
  for (const name of Object.keys(values)) {
    if (name === 'SCEPTER_HOME') throw new ConfigError('SCEPTER_HOME', `${file}: SCEPTER_HOME cannot be set inside the home's own config file`);
    if (!SETTING_NAMES.includes(name) && !OTHER_SETTINGS.has(name)) {
      const line = text.split('\n').findIndex((l) => new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(l)) + 1;
      throw new ConfigError(name, `${file}${line ? `:${line}` : ''}: not a Scepter setting`);
    }
  }
  return values;
}

/**
 * Copies the home's config file into `env` for every variable `env` does not set already
 * (environment variables win; an empty one counts as unset). Returns the file when one was read.
 */
export function applyConfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = configFilePath(env);
  if (!fs.existsSync(file)) return undefined;
  let values: Record<string, string>;
  try {
    values = readConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('SCEPTER_HOME', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // an empty variable counts as unset, as in loadConfig
  for (const [name, value] of Object.entries(values)) if (env[name] === undefined || env[name] === '') env[name] = value;
  return file;
}

/** The server's and the CLI's configuration: the home's config file under the environment. */
export function loadHomeConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = applyConfigFile(env);
  return { ...loadConfig(env), configFile };
}
