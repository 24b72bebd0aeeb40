import type { EntityManager } from 'typeorm';
import type { Dialect } from './dialect';

/**
 * Plain SQL for the few statements every enrollment runs. TypeORM's repository and query-builder
 * calls cost about 0.8 ms of the event loop per enrollment here, several times the statements
 * themselves; raw `query()` through the same connection (and the same transaction) does not.
 * Written with `?` placeholders; PostgreSQL gets `$1, $2...`.
 */
export function rawQuery<T = unknown>(m: EntityManager, dialect: Dialect, sql: string, params: unknown[], structured = false): Promise<T> {
  let n = 0;
  const text = dialect === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
  if (!structured) return m.query(text, params);
  // TypeORM's QueryResult ({ records, affected }) comes only from a query runner: inside a transaction
  if (!m.queryRunner) throw new Error('rawQuery: a structured result needs a transaction');
  return m.queryRunner.query(text, params, true) as Promise<T>;
}
