import { Client } from 'pg';

/** The machine's PostgreSQL (trust auth); SCEPTER_TEST_PG_URL points elsewhere. */
export const PG_ADMIN_URL = process.env.SCEPTER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresAvailable(): Promise<string | undefined> {
  const c = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${PG_ADMIN_URL.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * A fresh database for one test; returns its URL and a function that drops it. Without a reachable
 * PostgreSQL it throws, saying why: a PostgreSQL suite fails rather than being skipped silently.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const why = await postgresAvailable();
  if (why) throw new Error(`PostgreSQL suite did not run: ${why}`);
  const name = `scepter_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The server settings of a suite run on `dialect`: none for SQLite (the server's own file), a fresh
 * PostgreSQL database otherwise, with the function that drops it.
 */
export async function databaseEnv(dialect: 'sqlite' | 'postgres'): Promise<{ env: Record<string, string>; drop?: () => Promise<void> }> {
  if (dialect === 'sqlite') return { env: {} };
  const db = await createTestDatabase();
  return { env: { SCEPTER_DATABASE: db.url }, drop: db.drop };
}
