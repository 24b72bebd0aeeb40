import path from 'node:path';
import { createPrivateFile, restrictExisting, securePrivateDir } from '../shared/secure-file';
import { DataSource, EntityManager, EntitySchema } from 'typeorm';
import { columnTypes, Dialect, dialectOf } from './dialect';
import { certificateEntity } from './entities/certificate.entity';
import { scepTransactionEntity } from './entities/scep-transaction.entity';
import { integrationEntity } from './entities/integration.entity';
import { challengeEntity } from './entities/challenge.entity';
import { userEntity, userGroupEntity, userGroupMemberEntity } from './entities/user-group.entity';
import { apiKeyEntity } from './entities/api-key.entity';
import { auditEntryEntity } from './entities/audit-entry.entity';
import { crlStateEntity } from './entities/crl-state.entity';
import { caGenerationEntity } from './entities/ca-generation.entity';
import { trustPolicyEntity } from './entities/trust-policy.entity';
import { authLogEntity } from './entities/auth-log.entity';
import { appConfigKeyEntity, ws1SettingsEntity } from './entities/ws1-settings.entity';
import { ws1DeviceEntity, ws1SyncStateEntity } from './entities/ws1-inventory.entity';
import { migrationStateEntity } from './entities/migration-state.entity';
import { adminSessionEntity, adminUserEntity } from './entities/admin-user.entity';

/** Every entity, built for one dialect's column types. Later modules add theirs here. */
export function entitiesFor(dialect: Dialect): EntitySchema[] {
  const t = columnTypes(dialect);
  return [
    certificateEntity(t),
    scepTransactionEntity(t),
    ...integrationAdminEntities(t),
    crlStateEntity(t),
    caGenerationEntity(t),
    trustPolicyEntity(t),
    authLogEntity(t),
    ...ws1Entities(t),
    migrationStateEntity(t),
  ];
}

// integrations, challenges, users and groups, API keys, audit log
const integrationAdminEntities = (t: ReturnType<typeof columnTypes>) => [
  integrationEntity(t),
  challengeEntity(t),
  userEntity(t),
  userGroupEntity(t),
  userGroupMemberEntity(t),
  apiKeyEntity(t),
  auditEntryEntity(t),
  adminUserEntity(t),
  adminSessionEntity(t),
];

// WS1 settings, App Config keys, device inventories and sync state
const ws1Entities = (t: ReturnType<typeof columnTypes>) => [ws1SettingsEntity(t), appConfigKeyEntity(t), ws1DeviceEntity(t), ws1SyncStateEntity(t)];

export const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', 'migrations', '*.js');

export function dataSourceOptions(url: string, poolSize = 10) {
  const dialect = dialectOf(url);
  const common = { entities: entitiesFor(dialect), migrations: [MIGRATIONS_GLOB], synchronize: false, logging: false as const };
  if (dialect === 'postgres') return { ...common, type: 'postgres' as const, url, extra: { max: poolSize } };
  // WAL lets the CLI read and write beside a running server; busy_timeout waits out its locks
  return { ...common, type: 'sqlite' as const, database: url, enableWAL: true, busyTimeout: 10_000, driver: quietSqlite3() };
}

/**
 * sqlite3 as TypeORM would load it, minus `.verbose()`: TypeORM calls it, and it wraps every call to
 * capture a stack trace and util.inspect() the SQL and parameters (about a tenth of the event loop
 * under SCEP load) only to lengthen the stack of a failed query.
 */
function quietSqlite3(): unknown {
  const sqlite3 = require('sqlite3') as { verbose(): unknown };
  return Object.create(sqlite3, { verbose: { value: () => sqlite3 } });
}

/**
 * The DataSource plus a transaction helper. SQLite has a single connection in TypeORM, so two
 * overlapping transactions would nest on it: we queue them in-process (other processes are held
 * off by SQLite's own lock and busy_timeout). PostgreSQL transactions run concurrently.
 */
export class Database {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {}

  static async open(url: string, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<Database> {
    const sqliteFile = dialectOf(url) === 'sqlite' && url !== ':memory:' ? url : undefined;
    if (sqliteFile) prepareSqliteFiles(sqliteFile);
    const ds = new DataSource(dataSourceOptions(url, opts.poolSize));
    await ds.initialize();
    // the -wal and -shm files SQLite just opened: 0600 even when they already existed with wider modes
    if (sqliteFile) restrictExisting(sqliteCompanions(sqliteFile));
    if (ds.options.type === 'sqlite') await ds.query('PRAGMA synchronous = NORMAL');
    if (opts.migrate !== false) await ds.runMigrations({ transaction: 'each' });
    return new Database(ds, dialectOf(url));
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'postgres') return this.dataSource.transaction(fn);
    return this.inTurn(() => this.immediateTransaction(fn));
  }

  /**
   * Runs `fn` when none of this process's transactions is open, so on SQLite its reads see only
   * committed rows: the single connection is shared, and a read beside an open transaction sees
   * that transaction's uncommitted writes (which may still roll back). PostgreSQL reads are
   * committed anyway. Costs a place in the transaction queue: for rare paths, not hot ones.
   */
  betweenTransactions<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'postgres') return fn(this.manager);
    return this.inTurn(() => fn(this.manager));
  }

  /** SQLite: one unit of work on the shared connection at a time, in call order. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * SQLite: BEGIN IMMEDIATE takes the write lock up front (waiting out other processes with
   * busy_timeout). With TypeORM's deferred BEGIN, a plain read that runs on our single connection
   * while the transaction is open pins an old snapshot; if another process commits before we
   * write, SQLite fails the write with SQLITE_BUSY at once, and busy_timeout cannot help.
   */
  private async immediateTransaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const qr = this.dataSource.createQueryRunner();
    try {
      await qr.query('BEGIN IMMEDIATE');
      // tell TypeORM a transaction is open: nested transactional calls then use savepoints
      Object.assign(qr, { isTransactionActive: true, transactionDepth: 1 });
      try {
        const result = await fn(qr.manager);
        await qr.commitTransaction();
        return result;
      } catch (err) {
        await qr.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await qr.release();
    }
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The database file and the files SQLite keeps beside it. */
function sqliteCompanions(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

/**
 * The data directory owner-only (0700) and the database file created 0600 before SQLite opens it:
 * SQLite gives its -wal and -shm files the mode of the database file.
 */
function prepareSqliteFiles(file: string): void {
  securePrivateDir(path.dirname(file));
  createPrivateFile(file);
  restrictExisting(sqliteCompanions(file));
}

/** True for a unique-constraint violation on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string; errno?: number }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT' || /UNIQUE constraint failed/.test(e.message ?? '');
}
