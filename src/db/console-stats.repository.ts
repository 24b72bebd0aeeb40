import type { EntityManager } from 'typeorm';
import type { IntegrationCounts } from '../lists/console-stats.service';
import { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';

type Row = Record<string, unknown>;

/** certificates read per statement on SQLite (each statement holds the shared connection) */
const SQLITE_CHUNK_ROWS = 10_000;

/**
 * The dashboard's certificate figures per integration, and the stored snapshot of them. Counted by
 * the console-stats job, never while a page waits. PostgreSQL runs it as one statement on a pooled connection beside
 * the others. SQLite has one connection for everything (enrollments too), so there it is read in
 * slices of about 10,000 certificates by device id (an index range; the distinct devices of
 * disjoint device-id ranges add up), and other statements run between the slices.
 */
export class ConsoleStatsRepository {
  constructor(private readonly db: Database) {}

  private q(sql: string, params: unknown[]): Promise<Row[]> {
    return this.db.betweenTransactions((m: EntityManager) => rawQuery<Row[]>(m, this.db.dialect, sql, params));
  }

  private sums(where: string, from = 'certificates'): string {
    const live = "status <> 'revoked' AND not_after > ?";
    return (
      `SELECT integration_id, SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) AS valid, ` +
      `SUM(CASE WHEN ${live} AND not_after <= ? THEN 1 ELSE 0 END) AS expiring, ` +
      `SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked, ` +
      `COUNT(DISTINCT CASE WHEN ${live} THEN device_id END) AS devices FROM ${from}${where ? ` WHERE ${where}` : ''} GROUP BY integration_id`
    );
  }

  async certificateCounts(now: Date, expiringBefore: Date): Promise<Map<string, IntegrationCounts>> {
    const d = (x: Date) => dateParam(this.db.dialect, x);
    const times = [d(now), d(now), d(expiringBefore), d(now)];
    const out = new Map<string, IntegrationCounts>();
    const add = (rows: Row[]) => {
      for (const r of rows) {
        const id = String(r.integration_id ?? '');
        const c = out.get(id) ?? { valid: 0, expiring: 0, revoked: 0, devices: 0 };
        c.valid += Number(r.valid ?? 0);
        c.expiring += Number(r.expiring ?? 0);
        c.revoked += Number(r.revoked ?? 0);
        c.devices += Number(r.devices ?? 0);
        out.set(id, c);
      }
    };
    if (this.db.dialect === 'postgres') {
      add(await this.q(this.sums(''), times));
      return out;
    }
    // slices (from, to] of device ids, each ending on a whole device
    let from: string | undefined;
    for (;;) {
      const [b] = await this.q(
        `SELECT device_id FROM certificates WHERE device_id ${from === undefined ? 'IS NOT NULL' : '> ?'} ORDER BY device_id LIMIT 1 OFFSET ?`,
        [...(from === undefined ? [] : [from]), SQLITE_CHUNK_ROWS],
      );
      const to = b ? String(b.device_id) : undefined;
      const range = [from === undefined ? 'device_id IS NOT NULL' : 'device_id > ?', to === undefined ? '' : 'device_id <= ?'].filter(Boolean).join(' AND ');
      // the device-id index, named: for GROUP BY the planner may otherwise walk the integration index over every row
      add(
        await this.q(this.sums(range, 'certificates INDEXED BY ix_certificates_device_integration'), [
          ...times,
          ...(from === undefined ? [] : [from]),
          ...(to === undefined ? [] : [to]),
        ]),
      );
      if (to === undefined) break;
      from = to;
    }
    add(await this.q(this.sums('device_id IS NULL'), times));
    return out;
  }

  /** Stores a snapshot (insert or replace by name) for every instance's pages. */
  async saveSnapshot(name: string, at: Date, durationMs: number, countsJson: string): Promise<void> {
    const d = this.db.dialect;
    await this.db.transaction((m) =>
      rawQuery(
        m,
        d,
        'INSERT INTO console_stats (name, computed_at, duration_ms, counts) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (name) DO UPDATE SET computed_at = excluded.computed_at, duration_ms = excluded.duration_ms, counts = excluded.counts',
        [name, dateParam(d, at), Math.round(durationMs), countsJson],
      ),
    );
  }

  /** The stored snapshot (one small row), or undefined before the first count. */
  async loadSnapshot(name: string): Promise<{ at: Date; durationMs: number; countsJson: string } | undefined> {
    const [r] = await this.q('SELECT computed_at, duration_ms, counts FROM console_stats WHERE name = ?', [name]);
    if (!r) return undefined;
    const at = r.computed_at instanceof Date ? r.computed_at : new Date(`${String(r.computed_at).replace(' ', 'T')}Z`);
    return { at, durationMs: Number(r.duration_ms), countsJson: String(r.counts) };
  }
}
