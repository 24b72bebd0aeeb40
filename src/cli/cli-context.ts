import { Command } from 'commander';
import { loadConfig } from '../config/config';
import { buildServices, Services } from '../main';
import { restrictUmask } from '../shared/secure-file';
import { createLogger } from '../shared/logger';
import { AppError, ConfigError } from '../shared/errors';

/**
 * Runs one CLI action on the service's own composition root (same database and CA as a running
 * server; SQLite in WAL mode lets both work side by side). Errors print one line and set the
 * exit code: 2 for configuration, 1 for everything else; `--json` prints `{"error": ...}` instead.
 */
export async function withServices<T>(cmd: Command, fn: (s: Services) => Promise<T>): Promise<void> {
  const json = Boolean(cmd.optsWithGlobals().json);
  let services: Services | undefined;
  restrictUmask(); // keys, database files, reports and profiles are created owner-only
  try {
    const config = loadConfig();
    // CLI logs go to stderr and only when something is wrong, so stdout stays parseable
    services = await buildServices(config, { logger: createLogger(process.env.SCEPTER_LOG_LEVEL ?? 'warn', process.stderr as never) });
    await fn(services);
  } catch (err) {
    process.exitCode = err instanceof ConfigError ? 2 : 1;
    const message = err instanceof AppError && (err.expose || err instanceof ConfigError) ? err.message : err instanceof Error ? err.message : String(err);
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    else process.stderr.write(`scepter: ${message}\n`);
  } finally {
    await services?.db.close();
  }
}

/** Prints `value` as JSON with --json, else the human text. */
export function output(cmd: Command, value: unknown, text: () => string): void {
  if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(text().replace(/\n?$/, '\n'));
}
