import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../src/db/database';

/**
 * Runs `PRAGMA wal_checkpoint(<mode>)` on the server's own SQLite connection until it completes.
 * The server's background jobs share that connection, and SQLite refuses a checkpoint with
 * SQLITE_LOCKED inside one of their transactions, so the checkpoint waits its turn between
 * transactions; a statement still stepping (SQLITE_LOCKED) or a reader (busy=1) can still stop it
 * for a moment, so it is retried for up to 10 seconds.
 */
export async function checkpointWal(db: Database, mode: 'FULL' | 'TRUNCATE'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let done = false;
    try {
      const [row] = await db.betweenTransactions<{ busy: number }[]>((m) => m.query(`PRAGMA wal_checkpoint(${mode})`));
      done = row?.busy === 0;
    } catch (err) {
      if (!/SQLITE_(LOCKED|BUSY)/.test(String((err as Error).message))) throw err;
    }
    if (done) return;
    if (Date.now() > deadline) throw new Error(`wal_checkpoint(${mode}) did not complete within 10 s`);
    await sleep(20);
  }
}
