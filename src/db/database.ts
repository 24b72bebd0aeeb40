import fs from 'node:fs';
import path from 'node:path';
import { DataSource, EntityManager, EntitySchema } from 'typeorm';
import { columnTypes, Dialect, dialectOf } from './dialect';
import { certificateEntity } from './entities/certificate.entity';
import { scepTransactionEntity } from './entities/scep-transaction.entity';

/** Every entity, built for one dialect's column types. Later modules add theirs here. */
export function entitiesFor(dialect: Dialect): EntitySchema<any>[] {
  const t = columnTypes(dialect);
  return [certificateEntity(t), scepTransactionEntity(t)];
}

export const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', 'migrations', '*.js');

export function dataSourceOptions(url: string) {
  const dialect = dialectOf(url);
  const common = { entities: entitiesFor(dialect), migrations: [MIGRATIONS_GLOB], synchronize: false, logging: false as const };
  if (dialect === 'postgres') return { ...common, type: 'postgres' as const, url, extra: { max: 10 } };
  // WAL lets the CLI read and write beside a running server; busy_timeout waits out its locks
  return { ...common, type: 'sqlite' as const, database: url, enableWAL: true, busyTimeout: 10_000 };
}

/**
 * The DataSource plus a transaction helper. SQLite has a single connection in TypeORM, so two
 * overlapping transactions would nest on it: we queue them in-process (other processes are held
 * off by SQLite's own lock and busy_timeout). PostgreSQL transactions run concurrently.
 */
export class Database {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly dataSource: DataSource, readonly dialect: Dialect) {}

  static async open(url: string, opts: { migrate?: boolean } = {}): Promise<Database> {
    if (dialectOf(url) === 'sqlite' && url !== ':memory:') fs.mkdirSync(path.dirname(url), { recursive: true });
    const ds = new DataSource(dataSourceOptions(url));
    await ds.initialize();
    if (ds.options.type === 'sqlite') await ds.query('PRAGMA synchronous = NORMAL');
    if (opts.migrate !== false) await ds.runMigrations({ transaction: 'each' });
    return new Database(ds, dialectOf(url));
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'postgres') return this.dataSource.transaction(fn);
    const run = this.queue.then(() => this.dataSource.transaction(fn));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** True for a unique-constraint violation on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string; errno?: number }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT' || /UNIQUE constraint failed/.test(e.message ?? '');
}
