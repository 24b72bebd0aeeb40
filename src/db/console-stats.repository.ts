import type { EntityManager } from 'typeorm';
import type { IntegrationCounts } from '../lists/console-stats.service';
import { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';

/**
 * The dashboard's certificate figures per integration: one pass over the certificates table. It
 * is read in the background by ConsoleStats (never while a page waits), between this process's
 * transactions so SQLite's shared connection is not held by an open write.
 */
export class ConsoleStatsRepository {
  constructor(private readonly db: Database) {}

  async certificateCounts(now: Date, expiringBefore: Date): Promise<Map<string, IntegrationCounts>> {
    const d = (x: Date) => dateParam(this.db.dialect, x);
    const live = "status <> 'revoked' AND not_after > ?";
    const rows = await this.db.betweenTransactions((m: EntityManager) =>
      rawQuery<Record<string, unknown>[]>(
        m,
        this.db.dialect,
        `SELECT integration_id, SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) AS valid, ` +
          `SUM(CASE WHEN ${live} AND not_after <= ? THEN 1 ELSE 0 END) AS expiring, ` +
          `SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked, ` +
          `COUNT(DISTINCT CASE WHEN ${live} THEN device_id END) AS devices FROM certificates GROUP BY integration_id`,
        [d(now), d(now), d(expiringBefore), d(now)],
      ),
    );
    const out = new Map<string, IntegrationCounts>();
    for (const r of rows)
      out.set(String(r.integration_id ?? ''), {
        valid: Number(r.valid ?? 0),
        expiring: Number(r.expiring ?? 0),
        revoked: Number(r.revoked ?? 0),
        devices: Number(r.devices ?? 0),
      });
    return out;
  }
}
