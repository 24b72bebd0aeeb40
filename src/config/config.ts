import { MAX_SECRET_FILE_BYTES, readBoundedText } from '../shared/bounded-file';
import path from 'node:path';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { parseSecretKey } from '../shared/secret-box';
import { homeOf } from './home';
import { pkcs11Settings, type Pkcs11Config } from './pkcs11-settings';
import { DEFAULT_DEVICE_ID_PATTERN } from '../challenge/device-id-rule';
import { checkSecretsPrivate, checkTrustedProxies, checkWorkers, decimalSetting, portSetting } from './strict-settings';

/**
 * Every setting, read from environment variables. Defaults are declared here and documented in the
 * README's configuration table; an invalid value throws ConfigError naming the variable.
 */
const int = (min: number, max: number) => decimalSetting(min, max);

const schema = {
  SCEPTER_HTTP_PORT: portSetting().default(8080),
  SCEPTER_HOST: z.string().min(1).default('0.0.0.0'),
  SCEPTER_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  SCEPTER_DATABASE: z.string().min(1).default('data/scepter.sqlite'),
  // PostgreSQL connections per process: instances x workers x this must stay under max_connections
  SCEPTER_DATABASE_POOL_SIZE: int(1, 200).default(10),
  SCEPTER_CERTS_DIR: z.string().min(1).default('certs'),
  SCEPTER_CA_KEY_BITS: z.enum(['2048', '3072', '4096']).default('3072').transform(Number),
  SCEPTER_CA_KEY_PASSPHRASE: z.string().min(8, 'must be at least 8 characters').optional(),
  SCEPTER_CA_COMMON_NAME: z.string().min(1).default('Scepter Device CA'),
  SCEPTER_CA_VALIDITY_DAYS: int(1, 36500).default(3650),
  SCEPTER_CERT_VALIDITY_DAYS: int(1, 3650).default(365),
  // days before expiry in which the default endpoint renews a certificate without a challenge
  SCEPTER_RENEWAL_WINDOW_DAYS: int(1, 3650).default(14),
  SCEPTER_STATIC_CHALLENGE: z.string().min(8, 'must be at least 8 characters').optional(),
  SCEPTER_RA: z.enum(['on', 'off']).default('off'),
  // RA certificates renew themselves this many days before they expire; the old encryption pair keeps decrypting until it expires
  SCEPTER_RA_VALIDITY_DAYS: int(2, 36500).default(365),
  SCEPTER_RA_RENEW_BEFORE_DAYS: int(1, 36499).default(30),
  // how often a running server looks for a CA generation made by `scepter ca rollover` (and RA pairs due)
  SCEPTER_CA_POLL_SECONDS: int(1, 3600).default(30),
  SCEPTER_MAX_BODY_BYTES: int(1024, 1 << 24).default(64 * 1024),
  // slowloris cut-off; small values let tests see it happen
  SCEPTER_HEADERS_TIMEOUT_MS: int(500, 600_000).default(20_000),
  SCEPTER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SCEPTER_CHALLENGE_TTL_MINUTES: int(1, 24 * 60).default(60),
  SCEPTER_CHALLENGE_LENGTH: int(8, 64).default(16),
  SCEPTER_CHALLENGE_CACHE_LIMIT: int(1, 1_000_000).default(1000),
  // device ids an admin or challenge client may bind a challenge to (whole-id regular expression)
  SCEPTER_DEVICE_ID_PATTERN: z.string().max(512).refine(isRegExp, 'must be a regular expression').default(DEFAULT_DEVICE_ID_PATTERN),
  SCEPTER_AUTH_MAX_FAILURES: int(1, 1000).default(10),
  // higher than the per-address limit, so one client alone cannot cool down someone else's credential
  SCEPTER_AUTH_MAX_FAILURES_PER_CREDENTIAL: int(1, 100_000).default(100),
  SCEPTER_AUTH_COOLDOWN_SECONDS: int(1, 86_400).default(300),
  SCEPTER_CRL_VALIDITY_HOURS: int(1, 24 * 30).default(24),
  // device trust: HTTPS listener, proxy header, polling
  SCEPTER_TLS_PORT: portSetting().default(8443),
  SCEPTER_TLS_CERT: z.string().min(1).optional(),
  SCEPTER_TLS_KEY: z.string().min(1).optional(),
  SCEPTER_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform(
      (s, ctx) => parseProxyList(s) ?? (ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of IP addresses or CIDR ranges' }), z.NEVER),
    ),
  // 0.0.0.0/0 or ::/0 in SCEPTER_TRUSTED_PROXIES only with this on
  SCEPTER_TRUST_ANY_PROXY: z.enum(['on', 'off']).default('off'),
  SCEPTER_CLIENT_CERT_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name')
    .default('X-SSL-Client-Cert'),
  SCEPTER_TRUST_POLL_MS: int(100, 60_000).default(500),
  SCEPTER_WORKERS: int(1, 64).default(1),
  // sign OCSP responses with a delegated responder certificate (created beside the CA) or the CA key
  // default on; with the CA key in a PKCS#11 token the responder's key is generated in that token too
  SCEPTER_OCSP_DELEGATED: z.enum(['on', 'off']).optional(),
  // the delegated responder's key: rsa (RSA-2048, what every client takes) or ec (P-256, ~10x cheaper signatures)
  SCEPTER_OCSP_KEY: z.enum(['rsa', 'ec']).default('rsa'),
  // the delegated responder certificate (30 days) is replaced this many days before it expires
  SCEPTER_OCSP_RENEW_BEFORE_DAYS: int(1, 29).default(10),
  // key for secrets at rest (WS1 password, API key); unset = generated certs/secret.key
  SCEPTER_SECRET_KEY: z
    .string()
    .transform((s, ctx) => parseSecretKey(s) ?? (ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex digits or base64' }), z.NEVER))
    .optional(),
  SCEPTER_SYNC_SCHEDULE: z
    .string()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, 'must be HH:MM (24-hour, server local time) or off')
    .default('02:00'),
  SCEPTER_SYNC_SPREAD_MINUTES: int(0, 720).default(30),
  SCEPTER_WS1_TIMEOUT_SECONDS: int(1, 600).default(30),
  // http:// WS1 URLs send the WS1 password in clear: only for a local test server or simulator
  SCEPTER_WS1_ALLOW_HTTP: z.enum(['on', 'off']).default('off'),
  // one home for data and configuration (relative paths below resolve against it); read in home.ts
  SCEPTER_HOME: z.string().optional(),
  // a file holding the CA key passphrase (e.g. a systemd credential), instead of SCEPTER_CA_KEY_PASSPHRASE
  SCEPTER_CA_KEY_PASSPHRASE_FILE: z.string().min(1).optional(),
  // CA and RA keys in a PKCS#11 token: RFC 7512 URIs, the vendor module, a file holding the user PIN (see pkcs11-settings.ts)
  SCEPTER_CA_KEY: z.string().min(1).optional(),
  SCEPTER_RA_SIGN_KEY: z.string().min(1).optional(),
  SCEPTER_RA_ENCRYPT_KEY: z.string().min(1).optional(),
  SCEPTER_PKCS11_MODULE: z.string().min(1).optional(),
  SCEPTER_PKCS11_PIN_FILE: z.string().min(1).optional(),
  SCEPTER_PKCS11_SESSIONS: int(1, 64).default(4),
  SCEPTER_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  // the admin API on its own listener (e.g. 127.0.0.1:8081); unset = on the public HTTP port
  SCEPTER_ADMIN_HOST: z.string().min(1).optional(),
  SCEPTER_ADMIN_PORT: portSetting().optional(),
  // retention pruning by age (0 = keep forever), run every interval by one instance at a time
  SCEPTER_AUTH_LOG_RETENTION_DAYS: int(0, 36500).default(90),
  SCEPTER_AUDIT_RETENTION_DAYS: int(0, 36500).default(365),
  SCEPTER_SCEP_TRANSACTION_RETENTION_DAYS: int(0, 36500).default(90),
  SCEPTER_RETENTION_INTERVAL_MINUTES: int(1, 7 * 24 * 60).default(60),
  // the web console's cookies: Secure (HTTPS only) on, off, or auto (on when SCEPTER_PUBLIC_URL is https)
  SCEPTER_CONSOLE_SECURE_COOKIES: z.enum(['on', 'off', 'auto']).default('auto'),
  // how often the console-stats job counts the certificates the console shows
  SCEPTER_CONSOLE_STATS_SECONDS: int(5, 86_400).default(60),
  // where migration steps run from the console write their reports
  SCEPTER_CONSOLE_REPORT_DIR: z.string().min(1).default('migration-reports'),
} as const;

// never echoed in an error message; a file holding one must be private (see checkSecretsPrivate)
export const SECRET_SETTINGS: readonly string[] = ['SCEPTER_SECRET_KEY', 'SCEPTER_CA_KEY_PASSPHRASE', 'SCEPTER_STATIC_CHALLENGE'];
const SECRET_VARIABLES = new Set(SECRET_SETTINGS);

type Schema = typeof schema;
export type Env = { [K in keyof Schema]: z.output<Schema[K]> };

export interface Config {
  /** SCEPTER_HOME: relative paths resolve against it; holds the optional config file */
  home: string;
  /** the config file that was read into the environment (see config-file.ts), if any */
  configFile?: string;
  logFormat: 'json' | 'pretty';
  /** a separate listener for the admin API; undefined = the admin API is on the public port */
  admin?: { host: string; port: number };
  http: {
    port: number;
    host: string;
    publicUrl: string;
    maxBodyBytes: number;
    headersTimeoutMs: number;
    /** SCEPTER_PUBLIC_URL unset: the http://localhost:<port> default */ publicUrlIsDefault: boolean;
  };
  databaseUrl: string;
  /** PostgreSQL pool size per process (SQLite has one connection) */
  databasePoolSize: number;
  certsDir: string;
  /** CA and RA keys in a PKCS#11 token; undefined: key files in certsDir */
  pkcs11?: Pkcs11Config;
  ca: {
    keyBits: number;
    passphrase?: string;
    commonName: string;
    validityDays: number;
    ra: boolean;
    /** RA certificate validity, and how many days before expiry they are renewed */
    raValidityDays: number;
    raRenewBeforeDays: number;
  };
  /** seconds between looks for a new or rescheduled CA generation */
  caPollSeconds: number;
  certValidityDays: number;
  /** default endpoint: a challenge-less renewal is accepted this many days before expiry at the earliest */
  renewalWindowDays: number;
  staticChallenge?: string;
  logLevel: string;
  challenge: { ttlMinutes: number; length: number; cacheLimit: number };
  /** SCEPTER_DEVICE_ID_PATTERN: what a device id bound to a challenge may look like */
  deviceIdPattern: string;
  /** failed Basic/Bearer authentications per client address, and per credential, before a cool-down (429) */
  auth: { maxFailures: number; maxFailuresPerCredential: number; cooldownSeconds: number };
  crlValidityHours: number;
  /** device trust: HTTPS listener (port 0 = any free port), proxies allowed to pass the client certificate in a header */
  tls: { port: number; certFile?: string; keyFile?: string };
  trust: { trustedProxies: string[]; clientCertHeader: string; pollMs: number };
  /** server processes sharing the ports (node:cluster); 1 = this process serves */
  workers: number;
  /** OCSP answers signed by a delegated responder (id-kp-OCSPSigning, ocsp-nocheck) instead of the CA */
  ocspDelegated: boolean;
  ocspKeyType: 'rsa' | 'ec';
  /** the delegated responder certificate is renewed this many days before it expires */
  ocspRenewBeforeDays: number;
  /** 32-byte key for secrets at rest; undefined: use (or create) certs/secret.key */
  secretKey?: Buffer;
  /** nightly WS1 device sync at local time HH:MM (null = off) plus a random delay of up to spreadMinutes; deadline of each WS1 call */
  ws1: { syncTime: string | null; spreadMinutes: number; timeoutMs: number; allowHttp: boolean };
  /** days kept (0 = forever) of the auth log, the audit log and finished SCEP transactions; minutes between runs */
  retention: { authLogDays: number; auditDays: number; scepTransactionDays: number; intervalMinutes: number };
  /** the web console: Secure cookies, the age of its certificate counts, its migration report folder */
  console: { secureCookies: boolean; statsIntervalMs: number; reportDir: string };
  /** SCEPTER_RSA_THREADS: worker threads doing the SCEP RSA decryption with key files; 0 = inline */
  rsaThreads: number;
  /** SCEPTER_MIGRATION_CRASH_AT (crash tests only): the `<step>:before-commit` label at which a migration kills its process */
  migrationCrashAt?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = homeOf(env)): Config {
  const parsed = {} as Record<string, unknown>;
  for (const [name, type] of Object.entries(schema)) {
    const raw = env[name];
    const result = (type as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ConfigError(name, `${issue?.message ?? 'invalid value'} (got ${SECRET_VARIABLES.has(name) ? 'a value not shown here' : JSON.stringify(raw)})`);
    }
    parsed[name] = result.data;
  }
  const e = parsed as Env;
  const port = e.SCEPTER_HTTP_PORT;
  const publicUrl = (e.SCEPTER_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const db = e.SCEPTER_DATABASE;
  checkTrustedProxies(e.SCEPTER_TRUSTED_PROXIES, e.SCEPTER_TRUST_ANY_PROXY === 'on');
  checkWorkers(e.SCEPTER_WORKERS, db);
  if (e.SCEPTER_RA_RENEW_BEFORE_DAYS >= e.SCEPTER_RA_VALIDITY_DAYS)
    throw new ConfigError('SCEPTER_RA_RENEW_BEFORE_DAYS', `must be less than SCEPTER_RA_VALIDITY_DAYS (${e.SCEPTER_RA_VALIDITY_DAYS})`);
  return {
    home: cwd,
    logFormat: e.SCEPTER_LOG_FORMAT,
    admin: adminListener(e.SCEPTER_ADMIN_HOST, e.SCEPTER_ADMIN_PORT, port),
    http: {
      port,
      host: e.SCEPTER_HOST,
      publicUrl,
      maxBodyBytes: e.SCEPTER_MAX_BODY_BYTES,
      headersTimeoutMs: e.SCEPTER_HEADERS_TIMEOUT_MS,
      publicUrlIsDefault: e.SCEPTER_PUBLIC_URL === undefined,
    },
    databaseUrl: /^postgres(ql)?:\/\//.test(db) || db === ':memory:' ? db : path.resolve(cwd, db),
    databasePoolSize: e.SCEPTER_DATABASE_POOL_SIZE,
    certsDir: path.resolve(cwd, e.SCEPTER_CERTS_DIR),
    pkcs11: pkcs11Settings(e, cwd),
    ca: {
      keyBits: e.SCEPTER_CA_KEY_BITS,
      passphrase: e.SCEPTER_CA_KEY_PASSPHRASE ?? passphraseFile(e.SCEPTER_CA_KEY_PASSPHRASE_FILE, cwd),
      commonName: e.SCEPTER_CA_COMMON_NAME,
      validityDays: e.SCEPTER_CA_VALIDITY_DAYS,
      ra: e.SCEPTER_RA === 'on',
      raValidityDays: e.SCEPTER_RA_VALIDITY_DAYS,
      raRenewBeforeDays: e.SCEPTER_RA_RENEW_BEFORE_DAYS,
    },
    caPollSeconds: e.SCEPTER_CA_POLL_SECONDS,
    certValidityDays: e.SCEPTER_CERT_VALIDITY_DAYS,
    renewalWindowDays: e.SCEPTER_RENEWAL_WINDOW_DAYS,
    staticChallenge: e.SCEPTER_STATIC_CHALLENGE,
    logLevel: e.SCEPTER_LOG_LEVEL,
    challenge: {
      ttlMinutes: e.SCEPTER_CHALLENGE_TTL_MINUTES,
      length: e.SCEPTER_CHALLENGE_LENGTH,
      cacheLimit: e.SCEPTER_CHALLENGE_CACHE_LIMIT,
    },
    deviceIdPattern: e.SCEPTER_DEVICE_ID_PATTERN,
    auth: {
      maxFailures: e.SCEPTER_AUTH_MAX_FAILURES,
      maxFailuresPerCredential: e.SCEPTER_AUTH_MAX_FAILURES_PER_CREDENTIAL,
      cooldownSeconds: e.SCEPTER_AUTH_COOLDOWN_SECONDS,
    },
    crlValidityHours: e.SCEPTER_CRL_VALIDITY_HOURS,
    tls: { port: e.SCEPTER_TLS_PORT, ...tlsFiles(e.SCEPTER_TLS_CERT, e.SCEPTER_TLS_KEY, cwd) },
    trust: { trustedProxies: e.SCEPTER_TRUSTED_PROXIES, clientCertHeader: e.SCEPTER_CLIENT_CERT_HEADER.toLowerCase(), pollMs: e.SCEPTER_TRUST_POLL_MS },
    workers: e.SCEPTER_WORKERS,
    ocspDelegated: (e.SCEPTER_OCSP_DELEGATED ?? 'on') === 'on',
    ocspKeyType: e.SCEPTER_OCSP_KEY,
    ocspRenewBeforeDays: e.SCEPTER_OCSP_RENEW_BEFORE_DAYS,
    secretKey: e.SCEPTER_SECRET_KEY,
    ws1: {
      syncTime: e.SCEPTER_SYNC_SCHEDULE === 'off' ? null : e.SCEPTER_SYNC_SCHEDULE,
      spreadMinutes: e.SCEPTER_SYNC_SPREAD_MINUTES,
      timeoutMs: e.SCEPTER_WS1_TIMEOUT_SECONDS * 1000,
      allowHttp: e.SCEPTER_WS1_ALLOW_HTTP === 'on',
    },
    retention: {
      authLogDays: e.SCEPTER_AUTH_LOG_RETENTION_DAYS,
      auditDays: e.SCEPTER_AUDIT_RETENTION_DAYS,
      scepTransactionDays: e.SCEPTER_SCEP_TRANSACTION_RETENTION_DAYS,
      intervalMinutes: e.SCEPTER_RETENTION_INTERVAL_MINUTES,
    },
    console: {
      secureCookies: e.SCEPTER_CONSOLE_SECURE_COOKIES === 'auto' ? publicUrl.startsWith('https://') : e.SCEPTER_CONSOLE_SECURE_COOKIES === 'on',
      statsIntervalMs: e.SCEPTER_CONSOLE_STATS_SECONDS * 1000,
      reportDir: path.resolve(cwd, e.SCEPTER_CONSOLE_REPORT_DIR),
    },
    rsaThreads: rsaThreads(env.SCEPTER_RSA_THREADS),
    migrationCrashAt: env.SCEPTER_MIGRATION_CRASH_AT || undefined,
  };
}

/** SCEPTER_RSA_THREADS, read outside the schema (see config-file.ts): unset, one less than the cores, at most 4. */
function rsaThreads(raw: string | undefined): number {
  const size = raw === undefined || raw === '' ? Math.min(4, availableParallelism() - 1) : Number(raw);
  if (!Number.isInteger(size) || size < 0 || size > 64)
    throw new ConfigError('SCEPTER_RSA_THREADS', `must be an integer from 0 to 64 (got ${JSON.stringify(raw)})`);
  return size;
}

/** `a.b.c.d`, `a.b.c.d/n`, IPv6 and IPv6/n entries; undefined when one is malformed. */
function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function parseProxyList(text: string): string[] | undefined {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const [addr, bits, extra] = item.split('/');
    const family = isIP(addr ?? '');
    if (!family || extra !== undefined) return undefined;
    if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128))) return undefined;
  }
  return items;
}

function tlsFiles(cert: string | undefined, key: string | undefined, cwd: string): { certFile?: string; keyFile?: string } {
  if (!cert !== !key) throw new ConfigError(cert ? 'SCEPTER_TLS_KEY' : 'SCEPTER_TLS_CERT', 'SCEPTER_TLS_CERT and SCEPTER_TLS_KEY go together');
  return cert && key ? { certFile: path.resolve(cwd, cert), keyFile: path.resolve(cwd, key) } : {};
}

/** True while SCEPTER_PUBLIC_URL is unset, so devices would be told http://localhost:<port> (start-up WARN, status, /readyz). */
export function publicUrlIsDefault(config: Pick<Config, 'http'>): boolean {
  return config.http.publicUrlIsDefault;
}

function adminListener(host: string | undefined, port: number | undefined, httpPort: number): Config['admin'] {
  if (port === undefined) {
    if (host !== undefined) throw new ConfigError('SCEPTER_ADMIN_HOST', 'needs SCEPTER_ADMIN_PORT (the admin listener is off without a port)');
    return undefined;
  }
  if (port !== 0 && port === httpPort) throw new ConfigError('SCEPTER_ADMIN_PORT', `must differ from SCEPTER_HTTP_PORT (${httpPort})`);
  return { host: host ?? '127.0.0.1', port };
}

function passphraseFile(file: string | undefined, home: string): string | undefined {
  if (file === undefined) return undefined;
  const at = path.resolve(home, file);
  let text: string;
  try {
    text = readBoundedText(at, MAX_SECRET_FILE_BYTES).replace(/\r?\n$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'SCEPTER_CA_KEY_PASSPHRASE_FILE',
      `cannot read ${at} (${code === 'EFBIG' ? `larger than ${MAX_SECRET_FILE_BYTES} bytes` : (code ?? 'error')})`,
    );
  }
  if (text.length < 8) throw new ConfigError('SCEPTER_CA_KEY_PASSPHRASE_FILE', `${at} must hold at least 8 characters`);
  checkSecretsPrivate(at, ['the CA key passphrase'], 'SCEPTER_CA_KEY_PASSPHRASE_FILE');
  return text;
}

/** Every variable the schema knows (the config file may set only these, see config-file.ts). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema);
