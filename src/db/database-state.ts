import fs from 'node:fs';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database';
import { dialectOf } from './dialect';

export interface DatabaseState {
  /** SQLite: the file exists; PostgreSQL: the server answered */
  reachable: boolean;
  /** Scepter's migrations table exists, i.e. the server or `scepter init` set this database up */
  initialized: boolean;
  /** migrations this code has that the database has not run yet, oldest first */
  pending: string[];
}

/**
 * Looks at a database without changing it: never creates a SQLite file and never runs a migration,
 * so the CLI can tell "no database here" apart from "a database to use".
 */
export async function inspectDatabase(url: string): Promise<DatabaseState> {
  if (dialectOf(url) === 'sqlite' && (url === ':memory:' || !fs.existsSync(url))) return { reachable: false, initialized: false, pending: [] };
  const ds = new DataSource({ ...dataSourceOptions(url, 1), ...(dialectOf(url) === 'sqlite' ? { enableWAL: false } : {}) });
  await ds.initialize();
  try {
    const qr = ds.createQueryRunner();
    try {
      if (!(await qr.hasTable('migrations'))) return { reachable: true, initialized: false, pending: [] };
      const done = new Set(((await qr.query('SELECT name FROM migrations')) as { name: string }[]).map((r) => r.name));
      const pending = ds.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !done.has(n));
      return { reachable: true, initialized: true, pending: pending.sort((a, b) => timestampOf(a) - timestampOf(b)) };
    } finally {
      await qr.release();
    }
  } finally {
    await ds.destroy();
  }
}

const timestampOf = (name: string) => Number(/(\d{13})$/.exec(name)?.[1] ?? 0);
