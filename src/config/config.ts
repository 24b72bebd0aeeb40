import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';

/**
 * Every setting, read from environment variables. Defaults are declared here and documented in the
 * README's configuration table; an invalid value throws ConfigError naming the variable.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = {
  SCEPTER_HTTP_PORT: int(0, 65535).default(8080),
  SCEPTER_HOST: z.string().min(1).default('0.0.0.0'),
  SCEPTER_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  SCEPTER_DATABASE: z.string().min(1).default('data/scepter.sqlite'),
  SCEPTER_CERTS_DIR: z.string().min(1).default('certs'),
  SCEPTER_CA_KEY_BITS: z.enum(['2048', '3072', '4096']).default('3072').transform(Number),
  SCEPTER_CA_KEY_PASSPHRASE: z.string().min(8, 'must be at least 8 characters').optional(),
  SCEPTER_CA_COMMON_NAME: z.string().min(1).default('Scepter Device CA'),
  SCEPTER_CA_VALIDITY_DAYS: int(1, 36500).default(3650),
  SCEPTER_CERT_VALIDITY_DAYS: int(1, 3650).default(365),
  SCEPTER_STATIC_CHALLENGE: z.string().min(8, 'must be at least 8 characters').optional(),
  SCEPTER_RA: z.enum(['on', 'off']).default('off'),
  SCEPTER_MAX_BODY_BYTES: int(1024, 1 << 24).default(64 * 1024),
  SCEPTER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SCEPTER_CHALLENGE_TTL_MINUTES: int(1, 24 * 60).default(60),
  SCEPTER_CHALLENGE_LENGTH: int(8, 64).default(16),
  SCEPTER_CHALLENGE_CACHE_LIMIT: int(1, 1_000_000).default(1000),
  SCEPTER_CRL_VALIDITY_HOURS: int(1, 24 * 30).default(24),
} as const;

type Schema = typeof schema;
export type Env = { [K in keyof Schema]: z.output<Schema[K]> };

export interface Config {
  http: { port: number; host: string; publicUrl: string; maxBodyBytes: number };
  databaseUrl: string;
  certsDir: string;
  ca: { keyBits: number; passphrase?: string; commonName: string; validityDays: number; ra: boolean };
  certValidityDays: number;
  staticChallenge?: string;
  logLevel: string;
  challenge: { ttlMinutes: number; length: number; cacheLimit: number };
  crlValidityHours: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = {} as Record<string, unknown>;
  for (const [name, type] of Object.entries(schema)) {
    const raw = env[name];
    const result = (type as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ConfigError(name, `${issue?.message ?? 'invalid value'} (got ${JSON.stringify(raw)})`);
    }
    parsed[name] = result.data;
  }
  const e = parsed as Env;
  const port = e.SCEPTER_HTTP_PORT;
  const publicUrl = (e.SCEPTER_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const db = e.SCEPTER_DATABASE;
  return {
    http: { port, host: e.SCEPTER_HOST, publicUrl, maxBodyBytes: e.SCEPTER_MAX_BODY_BYTES },
    databaseUrl: /^postgres(ql)?:\/\//.test(db) || db === ':memory:' ? db : path.resolve(cwd, db),
    certsDir: path.resolve(cwd, e.SCEPTER_CERTS_DIR),
    ca: {
      keyBits: e.SCEPTER_CA_KEY_BITS,
      passphrase: e.SCEPTER_CA_KEY_PASSPHRASE,
      commonName: e.SCEPTER_CA_COMMON_NAME,
      validityDays: e.SCEPTER_CA_VALIDITY_DAYS,
      ra: e.SCEPTER_RA === 'on',
    },
    certValidityDays: e.SCEPTER_CERT_VALIDITY_DAYS,
    staticChallenge: e.SCEPTER_STATIC_CHALLENGE,
    logLevel: e.SCEPTER_LOG_LEVEL,
    challenge: {
      ttlMinutes: e.SCEPTER_CHALLENGE_TTL_MINUTES,
      length: e.SCEPTER_CHALLENGE_LENGTH,
      cacheLimit: e.SCEPTER_CHALLENGE_CACHE_LIMIT,
    },
    crlValidityHours: e.SCEPTER_CRL_VALIDITY_HOURS,
  };
}
