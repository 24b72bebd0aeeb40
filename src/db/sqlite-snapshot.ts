import fs from 'node:fs';

interface Sqlite3Db {
  run(sql: string, params: unknown[], cb: (err: Error | null) => void): void;
  all(sql: string, params: unknown[], cb: (err: Error | null, rows: Record<string, unknown>[]) => void): void;
  configure(option: 'busyTimeout', ms: number): void;
  close(cb: (err: Error | null) => void): void;
}
interface Sqlite3 {
  Database: new (file: string, mode: number, cb: (err: Error | null) => void) => Sqlite3Db;
  OPEN_READONLY: number;
  OPEN_READWRITE: number;
}
const sqlite3 = require('sqlite3') as Sqlite3;

function open(file: string, mode: number): Promise<Sqlite3Db> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}
const run = (db: Sqlite3Db, sql: string, params: unknown[] = []) =>
  new Promise<void>((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
const all = (db: Sqlite3Db, sql: string, params: unknown[] = []) =>
  new Promise<Record<string, unknown>[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
const close = (db: Sqlite3Db) => new Promise<void>((resolve) => db.close(() => resolve()));

/**
 * `VACUUM INTO` on a connection of its own: one read transaction gives a consistent copy while the
 * server keeps writing (WAL), compacted, without the backup API's restarts when another
 * connection writes. The target is created empty with mode 0600 first (SQLite accepts an empty file).
 */
export async function snapshotSqlite(source: string, target: string): Promise<void> {
  fs.closeSync(fs.openSync(target, 'wx', 0o600));
  const db = await open(source, sqlite3.OPEN_READONLY);
  try {
    db.configure('busyTimeout', 30_000);
    await run(db, 'VACUUM INTO ?', [target]);
  } finally {
    await close(db);
  }
}

/** Certificates and applied migrations of a database file (a backup's manifest, restore's report). */
export async function sqliteFacts(file: string): Promise<{ certificates: number; migrations: string[] }> {
  const db = await open(file, sqlite3.OPEN_READONLY);
  try {
    const tables = new Set((await all(db, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r.name)));
    const certificates = tables.has('certificates') ? Number((await all(db, 'SELECT COUNT(*) AS n FROM certificates'))[0]!.n) : 0;
    const migrations = tables.has('migrations') ? (await all(db, 'SELECT name FROM migrations ORDER BY id')).map((r) => String(r.name)) : [];
    return { certificates, migrations };
  } finally {
    await close(db);
  }
}
