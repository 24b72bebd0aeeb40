import { EntityManager } from 'typeorm';
import type { AuthLogStore } from '../trust/trust.ports';
import type { AuthLogEntry, AuthLogQuery, AuthLogRecord, Decision, TrustMethod, TrustPolicy, TrustReason } from '../trust/trust.types';
import { Database } from './database';
import { dateParam } from './dialect';
import { AuthLogRow } from './entities/auth-log.entity';

const INSERT_COLUMNS = 'at, user_name, application, decision, trusted, reason, policy, method, integration_id, device_id, serial, source_address, note';

/** The authentication log: batched multi-row inserts, newest-first reads. */
export class AuthLogRepository implements AuthLogStore {
  constructor(private readonly db: Database) {}

  private read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.dialect === 'postgres' ? fn(this.db.manager) : this.db.transaction(fn);
  }

  /**
   * One multi-row INSERT in plain SQL: the query builder spent more CPU building a 500-row statement
   * than the database spent running it, and this runs on the event loop next to the trust checks.
   */
  async insertMany(records: readonly AuthLogRecord[]): Promise<void> {
    if (!records.length) return;
    const pg = this.db.dialect === 'postgres';
    const params: unknown[] = [];
    const rows: string[] = [];
    for (const r of records) {
      const values = [
        dateParam(this.db.dialect, r.at),
        r.user.slice(0, 256),
        r.application,
        r.decision,
        pg ? r.trusted : r.trusted ? 1 : 0,
        r.reason,
        r.policy,
        r.method,
        r.integration,
        r.device,
        r.serial,
        r.sourceAddress.slice(0, 64),
        r.note,
      ];
      rows.push(`(${values.map((v) => (params.push(v), pg ? `$${params.length}` : '?')).join(', ')})`);
    }
    const sql = `INSERT INTO auth_log (${INSERT_COLUMNS}) VALUES ${rows.join(', ')}`;
    await this.db.transaction((m) => m.query(sql, params));
  }

  /** The newest `limit` matching entries, returned oldest first. */
  list(q: AuthLogQuery): Promise<AuthLogEntry[]> {
    return this.read(async (m) => {
      const qb = m.getRepository<AuthLogRow>('AuthLog').createQueryBuilder('a').orderBy('a.id', 'DESC').take(q.limit);
      if (q.user !== undefined) qb.andWhere('a.user_name = :user', { user: q.user });
      if (q.device !== undefined) qb.andWhere('a.device_id = :device', { device: q.device });
      if (q.since) qb.andWhere('a.at >= :since', { since: dateParam(this.db.dialect, q.since) });
      return (await qb.getMany()).reverse().map(entry);
    });
  }

  lastForDevice(deviceId: string): Promise<AuthLogEntry | undefined> {
    return this.read(async (m) => {
      const row = await m
        .getRepository<AuthLogRow>('AuthLog')
        .createQueryBuilder('a')
        .where('a.device_id = :deviceId', { deviceId })
        .orderBy('a.at', 'DESC')
        .addOrderBy('a.id', 'DESC')
        .limit(1)
        .getOne();
      return row ? entry(row) : undefined;
    });
  }
}

function entry(r: AuthLogRow): AuthLogEntry {
  return {
    id: r.id,
    at: r.at,
    user: r.userName,
    application: r.application,
    decision: r.decision as Decision,
    trusted: Boolean(r.trusted),
    reason: r.reason as TrustReason,
    policy: r.policy as TrustPolicy,
    method: r.method as TrustMethod,
    integration: r.integrationId,
    device: r.deviceId,
    serial: r.serial,
    sourceAddress: r.sourceAddress,
    note: r.note,
  };
}
