/**
 * The environment variables the CLI reads beside the settings loadConfig validates: where the home
 * is, its own log level, the CA key passphrase a restore checks keys with, the OS user name.
 */

/** SCEPTER_HOME as set (trimmed), undefined when unset or blank */
export function homeVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.SCEPTER_HOME?.trim() || undefined;
}

/**
 * The CLI's log level (warn unless SCEPTER_LOG_LEVEL is set), taken when the CLI loads, before the
 * home's scepter.env is read: a level set there is the server's, not the CLI's.
 */
export const CLI_LOG_LEVEL = process.env.SCEPTER_LOG_LEVEL || 'warn';

/** SCEPTER_CA_KEY_PASSPHRASE from the environment (a restore has no home config to read it from yet) */
export function caKeyPassphraseVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.SCEPTER_CA_KEY_PASSPHRASE || undefined;
}

/** USER: the OS user name when the system's user database does not answer */
export function userVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.USER;
}

/** The environment with `overrides` on top: what `scepter init` validates its flags against, as the server would. */
export function environmentWith(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
