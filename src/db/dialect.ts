/**
 * Dialect-neutral column helpers: the same entities and migrations run on SQLite (embedded default)
 * and PostgreSQL (several instances). Only timestamps and binary differ.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface ColumnTypes {
  timestamp: 'datetime' | 'timestamptz';
  binary: 'blob' | 'bytea';
  bigint: 'integer' | 'bigint';
}

export function columnTypes(dialect: Dialect): ColumnTypes {
  return dialect === 'postgres'
    ? { timestamp: 'timestamptz', binary: 'bytea', bigint: 'bigint' }
    : { timestamp: 'datetime', binary: 'blob', bigint: 'integer' };
}

/**
 * A Date as a query parameter. TypeORM converts Dates in entities but not in raw query-builder
 * parameters; SQLite stores `datetime` as UTC text 'YYYY-MM-DD HH:MM:SS.SSS', so compare with that.
 */
export function dateParam(dialect: Dialect, d: Date): Date | string {
  return dialect === 'postgres' ? d : d.toISOString().replace('T', ' ').replace('Z', '');
}

/** The inverse, for raw query results: PostgreSQL gives a Date, SQLite the UTC text TypeORM wrote. */
export function dbDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const s = String(v);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}

export function dialectOf(url: string): Dialect {
  return /^postgres(ql)?:\/\//.test(url) ? 'postgres' : 'sqlite';
}
