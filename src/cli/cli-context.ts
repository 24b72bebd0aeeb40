import { Command } from 'commander';
import type { Config } from '../config/config';
import { loadHomeConfig } from '../config/config-file';
import { CLI_LOG_LEVEL } from '../config/environment';
import { requireSetUpHome } from './home-guard';
import { buildServices, BuildOptions, Services } from '../main';
import { restrictUmask } from '../shared/secure-file';
import { createLogger } from '../shared/logger';
import { AppError, ConfigError } from '../shared/errors';
import { escapeText } from '../shared/terminal-text';

/**
 * Runs one CLI action on the service's own composition root (same database and CA as a running
 * server; SQLite in WAL mode lets both work side by side). Errors print one line and set the
 * exit code: 2 for configuration, 1 for everything else; `--json` prints `{"error": ...}` instead.
 */
export async function withServices<T>(cmd: Command, fn: (s: Services) => Promise<T>, opts: Omit<BuildOptions, 'logger'> = {}): Promise<void> {
  const json = Boolean(cmd.optsWithGlobals().json);
  let services: Services | undefined;
  restrictUmask(); // keys, database files, reports and profiles are created owner-only
  try {
    const config = loadHomeConfig();
    await requireSetUpHome(config);
    services = await buildServices(config, { ...opts, logger: cliLogger(config) });
    await fn(services);
  } catch (err) {
    process.exitCode = err instanceof ConfigError ? 2 : 1;
    const message = err instanceof AppError && (err.expose || err instanceof ConfigError) ? err.message : err instanceof Error ? err.message : String(err);
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    else process.stderr.write(`scepter: ${escapeText(message)}\n`);
  } finally {
    await services?.keys.close();
    await services?.db.close();
  }
}

/** CLI logs go to stderr and only when something is wrong (warn unless set in the environment), so stdout stays parseable. */
export function cliLogger(config: Config) {
  return createLogger(CLI_LOG_LEVEL, process.stderr, config.logFormat);
}

/** Prints `value` as JSON with --json, else the human text. */
export function output(cmd: Command, value: unknown, text: () => string): void {
  if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(text().replace(/\n?$/, '\n'));
}
