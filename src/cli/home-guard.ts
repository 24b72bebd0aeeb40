import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';
import { CA_CERT_FILE, CA_KEY_FILE } from '../ca/ca-material';
import { inspectDatabase } from '../db/database-state';
import { ConfigError } from '../shared/errors';

/** The database address without a password, fit for messages and `scepter status`. */
export function describeDatabase(url: string): string {
  return /^postgres(ql)?:\/\//.test(url) ? url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@') : url;
}

/**
 * Only the server and `scepter init` create a CA or a database. Every other command calls this
 * first and stops, naming where it looked, when the home has neither: otherwise it would quietly
 * set up a second, empty CA wherever it happened to run.
 */
export async function requireSetUpHome(config: Config): Promise<void> {
  const hint = `(home ${config.home}${config.configFile ? `, config ${config.configFile}` : ', no config file'}); set SCEPTER_HOME, or start the server or run \`scepter init\` there first`;
  // with the key in a PKCS#11 token the certs directory holds only the certificate
  const key = path.join(config.certsDir, CA_KEY_FILE);
  if ((!config.pkcs11 && !fs.existsSync(key)) || !fs.existsSync(path.join(config.certsDir, CA_CERT_FILE))) {
    throw new ConfigError('SCEPTER_CERTS_DIR', `no CA in ${config.certsDir} ${hint}`);
  }
  const db = await inspectDatabase(config.databaseUrl);
  if (!db.reachable) throw new ConfigError('SCEPTER_DATABASE', `no database at ${describeDatabase(config.databaseUrl)} ${hint}`);
  if (!db.initialized) throw new ConfigError('SCEPTER_DATABASE', `${describeDatabase(config.databaseUrl)} holds no Scepter tables ${hint}`);
}
