import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config';
import { dialectOf } from '../db/dialect';
import { BackupError, EncryptingWriter, KdfParams } from './backup-archive.codec';
import { writeBufferRecord, writeEnd, writeFileRecord } from './backup-records';
import { snapshotSqlite, sqliteFacts } from '../db/sqlite-snapshot';
import { pgDump } from './pg-dump';

export const DATABASE_ENTRY = 'data/scepter.sqlite';
export const PG_DUMP_ENTRY = 'data/scepter.pgdump';
export const MANIFEST_ENTRY = 'manifest.json';

export interface BackupManifest {
  format: 'scepter-backup';
  version: 1;
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  /** the database entry: data/scepter.sqlite, or data/scepter.pgdump (pg_dump's custom format) */
  database: string | null;
  certificates: number | null;
  migrations: string[];
  files: { name: string; size: number }[];
  /** the CA (and RA) keys are in this PKCS#11 token, not in the backup */
  caKeyInToken?: string;
}

export type Progress = (phase: string, done: number, total: number) => void;

export interface BackupOptions {
  out: string;
  passphrase: string;
  /** replace an existing output file */
  force?: boolean;
  onProgress?: Progress;
  kdf?: KdfParams;
  chunkSize?: number;
}

export interface BackupSummary {
  file: string;
  bytes: number;
  dialect: 'sqlite' | 'postgres';
  databaseIncluded: boolean;
  certificates: number | null;
  files: string[];
  ms: { snapshot: number; total: number };
  warnings: string[];
}

/** Files of the certs directory worth keeping: keys, certificates, secret.key (not lock or temp files). */
function certFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new BackupError(`no certs directory at ${dir}: nothing to back up there (is SCEPTER_CERTS_DIR right?)`);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && /^[A-Za-z0-9._-]+$/.test(e.name) && !/\.\d+\.[0-9a-f]+$/.test(e.name) && !e.name.endsWith('.tmp'))
    .map((e) => e.name)
    .sort();
}

/**
 * A consistent, encrypted snapshot of a running server's data: the SQLite database (VACUUM INTO,
 * one read transaction: writers go on meanwhile) or a pg_dump of the PostgreSQL database (its own
 * consistent snapshot), and the certs directory, in one file written
 * under a temporary name with mode 0600 and renamed into place when complete.
 */
export async function createBackup(config: Config, o: BackupOptions): Promise<BackupSummary> {
  const started = Date.now();
  const out = path.resolve(o.out);
  if (fs.existsSync(out) && !o.force) throw new BackupError(`${out} exists; choose another --out or pass --force to replace it`);
  const dir = path.dirname(out);
  if (!fs.existsSync(dir)) throw new BackupError(`the directory ${dir} does not exist`);
  const dialect = dialectOf(config.databaseUrl);
  const warnings: string[] = [];
  if (config.secretKey) warnings.push('SCEPTER_SECRET_KEY is set in the environment: it is not in the backup; keep it with the backup passphrase');
  if (config.tls.certFile && path.dirname(config.tls.certFile) !== config.certsDir)
    warnings.push(`SCEPTER_TLS_CERT/SCEPTER_TLS_KEY (${config.tls.certFile}) are outside the certs directory and not in the backup`);
  if (dialect === 'sqlite' && !fs.existsSync(config.databaseUrl)) throw new BackupError(`no database at ${config.databaseUrl} (is SCEPTER_DATABASE right?)`);
  const certs = certFiles(config.certsDir);
  if (config.pkcs11) {
    // the token holds the CA and RA keys; the backup has their certificates only
    if (!certs.includes('ca.cert.pem')) throw new BackupError(`${config.certsDir} holds no CA certificate (ca.cert.pem)`);
    warnings.push(
      `the CA and RA keys are in the PKCS#11 token (${config.pkcs11.keys.ca.uri.text}), not in the backup: back the token up with its vendor's tools`,
    );
  } else if (!certs.includes('ca.key.pem') || !certs.includes('ca.cert.pem')) throw new BackupError(`${config.certsDir} holds no CA (ca.key.pem, ca.cert.pem)`);

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const snapshot = path.join(dir, `.scepter-backup-${tag}.${dialect === 'sqlite' ? 'sqlite' : 'pgdump'}`);
  const partial = path.join(dir, `.${path.basename(out)}.${tag}.partial`);
  let snapshotMs = 0;
  try {
    let facts: { certificates: number; migrations: string[] } = { certificates: 0, migrations: [] };
    o.onProgress?.('snapshot', 0, 1);
    const t = Date.now();
    if (dialect === 'sqlite') {
      await snapshotSqlite(config.databaseUrl, snapshot);
      facts = await sqliteFacts(snapshot);
    } else {
      await pgDump(config.databaseUrl, snapshot);
    }
    snapshotMs = Date.now() - t;
    o.onProgress?.('snapshot', 1, 1);
    const dbEntry = dialect === 'sqlite' ? DATABASE_ENTRY : PG_DUMP_ENTRY;
    const entries: { name: string; file: string; size: number }[] = certs.map((f) => ({
      name: `certs/${f}`,
      file: path.join(config.certsDir, f),
      size: fs.statSync(path.join(config.certsDir, f)).size,
    }));
    entries.unshift({ name: dbEntry, file: snapshot, size: fs.statSync(snapshot).size });
    const manifest: BackupManifest = {
      format: 'scepter-backup',
      version: 1,
      createdAt: new Date().toISOString(),
      dialect,
      database: dbEntry,
      // pg_dump's snapshot is its own: the count is checked after restoring SQLite only
      certificates: dialect === 'sqlite' ? facts.certificates : null,
      migrations: facts.migrations,
      files: entries.map((e) => ({ name: e.name, size: e.size })),
      ...(config.pkcs11 ? { caKeyInToken: config.pkcs11.keys.ca.uri.text } : {}),
    };
    const total = entries.reduce((a, e) => a + e.size, 0);
    let done = 0;
    const fd = fs.openSync(partial, 'wx', 0o600);
    try {
      const w = new EncryptingWriter(fd, o.passphrase, { kdf: o.kdf, chunkSize: o.chunkSize });
      writeBufferRecord(w, MANIFEST_ENTRY, Buffer.from(JSON.stringify(manifest, null, 2)));
      for (const e of entries) {
        const size = writeFileRecord(w, e.name, e.file, (n) => {
          done += n;
          o.onProgress?.('encrypt', done, total);
        });
        if (size !== e.size) throw new Error(`${e.file} changed size while it was being backed up`);
      }
      writeEnd(w);
      w.finish();
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(partial, out);
    return {
      file: out,
      bytes: fs.statSync(out).size,
      dialect,
      databaseIncluded: true,
      certificates: manifest.certificates,
      files: entries.map((e) => e.name),
      ms: { snapshot: snapshotMs, total: Date.now() - started },
      warnings,
    };
  } finally {
    fs.rmSync(snapshot, { force: true });
    fs.rmSync(partial, { force: true });
  }
}
