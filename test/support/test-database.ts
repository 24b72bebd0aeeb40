import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../src/db/database';
import { createTestDatabase } from './postgres';

/** A migrated database of the given dialect for one suite (a temp SQLite file, or a fresh PostgreSQL database), and how to remove it. */
export async function openTestDatabase(dialect: 'sqlite' | 'postgres', prefix: string): Promise<{ db: Database; cleanup: () => Promise<void> }> {
  if (dialect === 'postgres') {
    const pg = await createTestDatabase();
    const db = await Database.open(pg.url);
    return {
      db,
      cleanup: async () => {
        await db.close();
        await pg.drop();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const db = await Database.open(path.join(dir, 'db.sqlite'));
  return {
    db,
    cleanup: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
