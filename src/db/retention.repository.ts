import { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';

/** Tables pruned by age, with the column their age is read from. */
export type RetentionTable = 'auth_log' | 'audit_log' | 'scep_transactions';

/**
 * Deletes old rows in small batches, each batch its own short transaction, so a run never holds
 * the database (SQLite's single writer) for longer than one batch.
 */
export class RetentionRepository {
  constructor(private readonly db: Database) {}

  /** Deletes up to `limit` rows of auth_log or audit_log written before `cutoff`; answers how many. */
  async deleteLogBatch(table: 'auth_log' | 'audit_log', cutoff: Date, limit: number): Promise<number> {
    const d = this.db.dialect;
    return this.db.transaction(async (m) => {
      const res = await rawQuery<{ affected?: number }>(
        m,
        d,
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE at < ? ORDER BY at LIMIT ?)`,
        [dateParam(d, cutoff), limit],
        true,
      );
      return res.affected ?? 0;
    });
  }

  /**
   * One step over finished SCEP transactions last touched before `cutoff`, in id order after
   * `afterId`: refusals go, and so do successes whose certificate has expired or is gone. A success
   * backing a certificate still valid at `now` stays: it is what answers a client's retry with the
   * same certificate and keeps its transactionID bound to its key. Answers the rows deleted and
   * the last id looked at (undefined when there is nothing further).
   */
  async deleteScepTransactionBatch(cutoff: Date, now: Date, afterId: number, limit: number): Promise<{ deleted: number; lastId?: number }> {
    const d = this.db.dialect;
    // the look is a plain read: most rows looked at may be kept, and a write transaction (SQLite's
    // single writer) is taken only to delete
    const rows = await rawQuery<{ id: number | string; keep: number | string | boolean }[]>(
      this.db.manager,
      d,
      `SELECT t.id AS id,
              CASE WHEN t.pki_status = 0 AND EXISTS (SELECT 1 FROM certificates c WHERE c.serial = t.certificate_serial AND c.not_after > ?) THEN 1 ELSE 0 END AS keep
         FROM scep_transactions t
        WHERE t.updated_at < ? AND t.id > ? AND t.pki_status IN (0, 2)
        ORDER BY t.id LIMIT ?`,
      [dateParam(d, now), dateParam(d, cutoff), afterId, limit],
    );
    if (rows.length === 0) return { deleted: 0 };
    const lastId = Number(rows[rows.length - 1]!.id);
    const doomed = rows.filter((r) => Number(r.keep) === 0).map((r) => Number(r.id));
    if (!doomed.length) return { deleted: 0, lastId };
    // the conditions again, in the statement: a row touched since the look stays
    const deleted = await this.db.transaction(async (m) => {
      const res = await rawQuery<{ affected?: number }>(
        m,
        d,
        `DELETE FROM scep_transactions WHERE id IN (${doomed.map(() => '?').join(', ')}) AND updated_at < ?
            AND NOT (pki_status = 0 AND EXISTS (SELECT 1 FROM certificates c WHERE c.serial = scep_transactions.certificate_serial AND c.not_after > ?))`,
        [...doomed, dateParam(d, cutoff), dateParam(d, now)],
        true,
      );
      return res.affected ?? 0;
    });
    return { deleted, lastId };
  }
}
