import { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';

/** Raised inside the probe transaction so that it rolls back. */
class ProbeRollback extends Error {}

/**
 * Leases of periodic jobs on `job_leases`: a row per job, taken by a conditional UPDATE (free, or
 * expired because its holder died), so whatever the number of instances one runs the job at a time.
 */
export class JobLeaseRepository {
  constructor(private readonly db: Database) {}

  async tryAcquire(job: string, owner: string, now: Date, expiresAt: Date): Promise<boolean> {
    const d = this.db.dialect;
    return this.db.transaction(async (m) => {
      await rawQuery(m, d, 'INSERT INTO job_leases (name) VALUES (?) ON CONFLICT (name) DO NOTHING', [job]);
      const res = await rawQuery<{ affected?: number }>(
        m,
        d,
        'UPDATE job_leases SET owner = ?, expires_at = ? WHERE name = ? AND (owner IS NULL OR expires_at IS NULL OR expires_at < ?)',
        [owner, dateParam(d, expiresAt), job, dateParam(d, now)],
        true,
      );
      return res.affected === 1;
    });
  }

  async release(job: string, owner: string, now: Date, result: string): Promise<void> {
    const d = this.db.dialect;
    await this.db.transaction((m) =>
      rawQuery(m, d, 'UPDATE job_leases SET owner = NULL, expires_at = NULL, last_run_at = ?, last_result = ? WHERE name = ? AND owner = ?', [
        dateParam(d, now),
        result.slice(0, 512),
        job,
        owner,
      ]),
    );
  }

  async lastRun(job: string): Promise<{ at: Date; result: string | null } | undefined> {
    const rows = await rawQuery<{ last_run_at: string | Date | null; last_result: string | null }[]>(
      this.db.manager,
      this.db.dialect,
      'SELECT last_run_at, last_result FROM job_leases WHERE name = ?',
      [job],
    );
    const r = rows[0];
    if (!r?.last_run_at) return undefined;
    return { at: r.last_run_at instanceof Date ? r.last_run_at : new Date(`${r.last_run_at.replace(' ', 'T')}Z`), result: r.last_result };
  }

  /** Proves the database takes writes: inserts a row in a transaction and rolls it back. */
  async probeWrite(): Promise<void> {
    try {
      await this.db.transaction(async (m) => {
        await rawQuery(m, this.db.dialect, 'INSERT INTO job_leases (name) VALUES (?)', [`readyz-probe-${process.pid}-${Date.now()}`]);
        throw new ProbeRollback();
      });
    } catch (err) {
      if (!(err instanceof ProbeRollback)) throw err;
    }
  }
}
