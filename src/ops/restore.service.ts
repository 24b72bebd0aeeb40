import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { Database } from '../db/database';
import { parseSecretKey } from '../shared/secret-box';
import { processesUsing } from './open-files';
import { BackupError, DecryptingReader } from './backup-archive.codec';
import { readRecordHead, readRecordToFile } from './backup-records';
import { BackupManifest, MANIFEST_ENTRY, Progress } from './backup.service';
import { sqliteFacts } from '../db/sqlite-snapshot';
import { pgRestore } from './pg-dump';

export interface RestoreOptions {
  file: string;
  to: string;
  passphrase: string;
  /** replace a non-empty target directory */
  force?: boolean;
  /** SCEPTER_CA_KEY_PASSPHRASE: to open encrypted keys and check them against their certificates */
  keyPassphrase?: string;
  /** PostgreSQL backups: an empty database to pg_restore into (else the dump is left in DIR/data) */
  database?: string;
  onProgress?: Progress;
}

export interface RestoreSummary {
  home: string;
  /** the SQLite file, or the PostgreSQL URL restored into (password hidden); null when not restored */
  database: string | null;
  /** PostgreSQL backup restored without --database: the dump left for pg_restore */
  pendingDump?: string;
  certsDir: string;
  createdAt: string;
  certificates: number | null;
  migrationsApplied: string[];
  checks: string[];
  ms: number;
}

const ENTRY_NAME = /^(data\/scepter\.(sqlite|pgdump)|certs\/[A-Za-z0-9._-]{1,128})$/;

function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

/**
 * Decrypts a backup into a staging directory beside `to`, checks it (every key against its
 * certificate, secret.key, the database's integrity and migrations, a certificate in the database
 * signed by the restored CA), and only then moves it into place. Nothing is left behind on failure.
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const to = path.resolve(o.to);
  if (fs.existsSync(to)) {
    if (!fs.statSync(to).isDirectory()) throw new BackupError(`${to} exists and is not a directory`);
    if (!isEmptyDir(to) && !o.force) throw new BackupError(`${to} is not empty; restore into a new directory, or pass --force to replace its contents`);
    const users = processesUsing(to);
    if (users.length)
      throw new BackupError(
        `${to} is in use by process ${users.join(', ')} (a running Scepter?): stop it first; replacing its files under it would lose what it writes`,
      );
  }
  if (!fs.existsSync(path.dirname(to))) throw new BackupError(`the directory ${path.dirname(to)} does not exist`);
  let fd: number;
  try {
    fd = fs.openSync(path.resolve(o.file), 'r');
  } catch (err) {
    throw new BackupError(`cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const stage = path.join(path.dirname(to), `.${path.basename(to)}.restoring-${randomBytes(4).toString('hex')}`);
  try {
    const reader = new DecryptingReader(fd, o.passphrase);
    fs.mkdirSync(path.join(stage, 'data'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(stage, 'certs'), { mode: 0o700 });
    const manifest = extract(reader, stage, o.onProgress);
    const checks: string[] = [];
    checks.push(...checkKeys(path.join(stage, 'certs'), o.keyPassphrase, manifest.caKeyInToken));
    let migrationsApplied: string[] = [];
    let certificates: number | null = null;
    let database: string | null = null;
    let pendingDump: string | undefined;
    const caCert = path.join(stage, 'certs', 'ca.cert.pem');
    if (manifest.dialect === 'sqlite' && manifest.database) {
      const r = await checkDatabase(path.join(stage, manifest.database), caCert, manifest.certificates);
      checks.push(...r.checks);
      migrationsApplied = r.applied;
      certificates = r.certificates;
      database = path.join(to, manifest.database);
    } else if (manifest.database && o.database) {
      const dump = path.join(stage, manifest.database);
      await requireEmptyDatabase(o.database);
      await pgRestore(o.database, dump).catch((err: Error) => {
        throw new BackupError(`${err.message}; the target database may hold a partial restore: drop and create it again before retrying`);
      });
      const r = await checkDatabase(o.database, caCert, null);
      checks.push(`database: pg_restore into ${hidePassword(o.database)}`, ...r.checks);
      migrationsApplied = r.applied;
      certificates = r.certificates;
      database = hidePassword(o.database);
      // restored: no unencrypted copy of the database stays behind
      fs.rmSync(dump);
    } else if (manifest.database) {
      pendingDump = path.join(to, manifest.database);
      checks.push('database: PostgreSQL dump left in data/ (give --database URL of an empty database to restore it)');
    } else {
      throw new BackupError('the backup manifest names no database');
    }
    if (fs.existsSync(to)) fs.rmSync(to, { recursive: true, force: true });
    fs.renameSync(stage, to);
    return {
      home: to,
      database,
      pendingDump,
      certsDir: path.join(to, 'certs'),
      createdAt: manifest.createdAt,
      certificates,
      migrationsApplied,
      checks,
      ms: Date.now() - started,
    };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function extract(reader: DecryptingReader, stage: string, onProgress?: Progress): BackupManifest {
  const first = readRecordHead(reader);
  if (first?.name !== MANIFEST_ENTRY || first.size > 1 << 20) throw new BackupError('backup content is damaged (no manifest)');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(reader.read(first.size).toString('utf8')) as BackupManifest;
  } catch {
    throw new BackupError('backup content is damaged (unreadable manifest)');
  }
  if (manifest.format !== 'scepter-backup' || manifest.version !== 1) throw new BackupError('backup manifest has an unknown format or version');
  const expected = new Map(manifest.files.map((f) => [f.name, f.size]));
  const total = manifest.files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const seen = new Set<string>();
  for (let head = readRecordHead(reader); head; head = readRecordHead(reader)) {
    if (!ENTRY_NAME.test(head.name) || seen.has(head.name) || expected.get(head.name) !== head.size)
      throw new BackupError(`backup content is damaged (unexpected entry ${JSON.stringify(head.name.slice(0, 80))})`);
    seen.add(head.name);
    readRecordToFile(reader, head.size, path.join(stage, head.name), (n) => onProgress?.('decrypt', (done += n), total));
  }
  reader.expectEnd();
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw new BackupError(`backup content is incomplete (missing ${missing.join(', ')})`);
  return manifest;
}

/** Every private key in the certs directory opens and matches its certificate; secret.key is a 32-byte key. */
function checkKeys(certs: string, keyPassphrase?: string, caKeyInToken?: string): string[] {
  const checks: string[] = [];
  const files = fs.readdirSync(certs).sort();
  if (caKeyInToken) {
    // the backup of a home whose CA and RA keys are in a PKCS#11 token holds their certificates only
    if (!files.includes('ca.cert.pem')) throw new BackupError('the backup holds no CA certificate');
    checks.push(`CA key: in the PKCS#11 token ${caKeyInToken}, not in the backup (restore the token with its vendor's tools)`);
  } else if (!files.includes('ca.key.pem') || !files.includes('ca.cert.pem')) throw new BackupError('the backup holds no CA key and certificate');
  for (const f of files) {
    const text = fs.readFileSync(path.join(certs, f), 'utf8');
    if (f === 'secret.key') {
      if (!parseSecretKey(text)) throw new BackupError('certs/secret.key does not hold a 32-byte key');
      checks.push('secret.key: a 32-byte key');
      continue;
    }
    const keyPem = /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.exec(text)?.[0];
    if (!keyPem) continue;
    const certFile = /CERTIFICATE-----/.test(text) ? f : f.replace(/\.key\.pem$/, '.cert.pem');
    if (certFile === f && !/BEGIN CERTIFICATE/.test(text)) throw new BackupError(`certs/${f} holds a key without a certificate`);
    if (!files.includes(certFile)) throw new BackupError(`certs/${f} has no certificate (${certFile}) beside it`);
    const encrypted = keyPem.includes('ENCRYPTED');
    if (encrypted && !keyPassphrase)
      throw new BackupError(`certs/${f} is encrypted: set SCEPTER_CA_KEY_PASSPHRASE so that restore can check it against its certificate`);
    let key;
    try {
      key = createPrivateKey({ key: keyPem, passphrase: encrypted ? keyPassphrase : undefined });
    } catch {
      throw new BackupError(encrypted ? `certs/${f} does not open with SCEPTER_CA_KEY_PASSPHRASE` : `certs/${f} is not a readable private key`);
    }
    const cert = new X509Certificate(fs.readFileSync(path.join(certs, certFile)));
    const same = createPublicKey(key)
      .export({ type: 'spki', format: 'der' })
      .equals(cert.publicKey.export({ type: 'spki', format: 'der' }));
    if (!same) throw new BackupError(`certs/${f} does not belong to the certificate in certs/${certFile}`);
    checks.push(`${f}: matches ${certFile === f ? 'its certificate' : certFile}`);
  }
  return checks;
}

/** Integrity (SQLite), migrations (pending ones applied), the certificate count, and the newest certificate verifies under the restored CA. */
async function checkDatabase(url: string, caCertFile: string, expected: number | null): Promise<{ checks: string[]; applied: string[]; certificates: number }> {
  const before = await migrationNames(url);
  const checks: string[] = [];
  let db: Database | undefined;
  let certificates: number;
  try {
    db = await Database.open(url, { migrate: true });
    if (db.dialect === 'sqlite') {
      const integrity = await db.dataSource.query<{ quick_check: string }[]>('PRAGMA quick_check');
      if (integrity[0]?.quick_check !== 'ok')
        throw new BackupError(`the restored database fails its integrity check: ${String(integrity[0]?.quick_check).slice(0, 200)}`);
      checks.push('database: integrity ok');
    }
    if (await db.dataSource.showMigrations()) throw new BackupError('the restored database still has pending migrations');
    checks.push('database: migrations up to date');
    const latest = await db.dataSource.query<{ der: Buffer }[]>('SELECT der FROM certificates ORDER BY created_at DESC LIMIT 1');
    if (latest[0]) {
      const ca = new X509Certificate(fs.readFileSync(caCertFile));
      if (!new X509Certificate(latest[0].der).verify(ca.publicKey))
        throw new BackupError('the certificates in the database were not issued by the CA in this backup');
      checks.push('database: newest certificate verifies under the restored CA');
    }
    certificates = Number((await db.dataSource.query<{ n: number | string }[]>('SELECT COUNT(*) AS n FROM certificates'))[0]!.n);
  } finally {
    await db?.close();
  }
  if (expected !== null && certificates !== expected)
    throw new BackupError(`the restored database holds ${certificates} certificates, the manifest says ${expected}`);
  checks.push(`database: ${certificates} ${certificates === 1 ? 'certificate' : 'certificates'}${expected !== null ? ', as the manifest says' : ''}`);
  const after = await migrationNames(url);
  return { checks, applied: after.filter((m) => !before.includes(m)), certificates };
}

async function migrationNames(url: string): Promise<string[]> {
  if (!/^postgres(ql)?:\/\//.test(url)) return (await sqliteFacts(url)).migrations;
  const db = await Database.open(url, { migrate: false });
  try {
    const t = await db.dataSource.query<unknown[]>(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'migrations'",
    );
    return t.length ? (await db.dataSource.query<{ name: string }[]>('SELECT name FROM migrations ORDER BY id')).map((r) => r.name) : [];
  } finally {
    await db.close();
  }
}

/** pg_restore goes into an empty database only: restore never overwrites existing data. */
async function requireEmptyDatabase(url: string): Promise<void> {
  let db: Database;
  try {
    db = await Database.open(url, { migrate: false, poolSize: 1 });
  } catch (err) {
    throw new BackupError(`cannot connect to ${hidePassword(url)}: ${(err as Error).message}`);
  }
  try {
    const r = await db.dataSource.query<{ n: number }[]>('SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()');
    if (r[0]!.n > 0) throw new BackupError(`${hidePassword(url)} is not empty; restore into a new, empty database (createdb)`);
  } finally {
    await db.close();
  }
}

function hidePassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
