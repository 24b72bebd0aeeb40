import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';

/**
 * Settings that must not be read loosely. A port is written in decimal, 1-65535: `Number()` would
 * take `0x50` as 80, `1e3` as 1000 and ` 80` as 80. `0` (any free port) is accepted only when
 * written exactly so, which tests and benchmarks do for the HTTPS listener.
 */
export const portSetting = () =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,4})$/, 'must be a decimal port number 1-65535 (or exactly 0 for any free port)')
    .transform(Number)
    .pipe(z.number().int().max(65535, 'must be a decimal port number 1-65535'));

/**
 * Every other number setting: decimal digits only, like ports (`0x10`, `1e3`, ` 5` and `5.0` are
 * refused rather than read as something the operator did not write), then the range.
 */
export const decimalSetting = (min: number, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, `must be a whole decimal number ${min}-${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be a whole decimal number ${min}-${max}`).max(max, `must be a whole decimal number ${min}-${max}`));

/** A proxy range of prefix length 0 (`0.0.0.0/0`, `::/0`, `10.0.0.0/0`) trusts every address on the Internet. */
export function isEveryAddress(entry: string): boolean {
  const [, bits] = entry.split('/');
  return bits !== undefined && Number(bits) === 0;
}

/**
 * Trusting every address as a proxy lets any client set its own X-Forwarded-For (its address for
 * the auth-failure limiter) and client-certificate header: refused unless SCEPTER_TRUST_ANY_PROXY=on.
 */
export function checkTrustedProxies(entries: string[], allowAny: boolean): void {
  const every = entries.find(isEveryAddress);
  if (every && !allowAny)
    throw new ConfigError(
      'SCEPTER_TRUSTED_PROXIES',
      `${every} trusts every address as a proxy (any client could then forge X-Forwarded-For and the client-certificate header); list your proxies, or set SCEPTER_TRUST_ANY_PROXY=on if a firewall guarantees only proxies reach Scepter`,
    );
}

/** Cluster workers are separate processes: on SQLite they would fight over one file's write lock. */
export function checkWorkers(workers: number, databaseUrl: string): void {
  if (workers > 1 && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('SCEPTER_WORKERS', `${workers} workers need PostgreSQL (SCEPTER_DATABASE=postgres://...); SQLite allows 1`);
}

/**
 * A file that holds a secret setting (the config file with SCEPTER_CA_KEY_PASSPHRASE, say, or the
 * passphrase file) must not be readable by group or others, as ssh treats private keys: the start
 * stops naming the file and its mode rather than run with the secret exposed to local users.
 */
export function checkSecretsPrivate(file: string, secrets: string[], variable = 'SCEPTER_HOME'): void {
  if (secrets.length === 0) return;
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077)
    throw new ConfigError(variable, `${file} holds ${secrets.join(', ')} but other users can read it (mode 0${mode.toString(8)}); run chmod 600 ${file}`);
}
