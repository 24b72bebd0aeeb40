import { EntityManager } from 'typeorm';
import { revocationReasonFromCode } from '../pki/revocation-reason';
import type { KeyPart } from '../lists/list-cursor';
import type {
  CertificateFilter,
  CertificateListItem,
  CertificateOrder,
  DeviceFilter,
  DeviceListItem,
  DeviceTrust,
  InventoryFilter,
  InventoryListItem,
  SortDirection,
} from '../lists/list.types';
import { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';

type Row = Record<string, unknown>;

/**
 * Keyset-paged reads behind the certificate, device and WS1 inventory lists. Plain SQL (the same on
 * SQLite and PostgreSQL, `?` placeholders) so each page is one index range from the cursor on:
 * see migrations/*-ListIndexes for the indexes each order walks. Device ids and UDIDs compare
 * byte-wise (COLLATE "C" on PostgreSQL, SQLite's default), so a prefix is an index range.
 */
export class ListRepository {
  constructor(private readonly db: Database) {}

  private get pg(): boolean {
    return this.db.dialect === 'postgres';
  }
  private c(col: string): string {
    return this.pg ? `${col} COLLATE "C"` : col;
  }
  private dp(d: Date): unknown {
    return dateParam(this.db.dialect, d);
  }
  /** SQLite's single connection is shared: read between this process's transactions. */
  private q(sql: string, params: unknown[]): Promise<Row[]> {
    return this.db.betweenTransactions((m: EntityManager) => rawQuery<Row[]>(m, this.db.dialect, sql, params));
  }

  async certificates(
    f: CertificateFilter,
    order: CertificateOrder,
    dir: SortDirection,
    after: KeyPart[] | undefined,
    limit: number,
    now: Date,
  ): Promise<CertificateListItem[]> {
    const desc = dir === 'desc';
    const gt = desc ? '<' : '>';
    const by = (cols: string[]) => cols.map((c) => (desc ? `${c} DESC` : c)).join(', ');
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...p: unknown[]) => where.push(sql) + params.push(...p);
    const dev = this.c('device_id');
    if (f.integrationId !== undefined) add('integration_id = ?', f.integrationId);
    if (f.status === 'revoked') where.push("status = 'revoked'");
    if (f.status === 'superseded') add("status = 'superseded' AND not_after > ?", this.dp(now));
    if (f.status === 'valid') add("status <> 'revoked' AND not_after > ?", this.dp(now));
    if (f.status === 'expired') add("status <> 'revoked' AND not_after <= ?", this.dp(now));
    if (f.expiringBefore) add('not_after < ?', this.dp(f.expiringBefore));
    if (f.devicePrefix !== undefined) this.prefix(where, params, dev, f.devicePrefix, order === 'device' ? after?.[0] : undefined, desc);
    let orderBy = by(['id']);
    if (order === 'id') {
      if (after) add(`id ${gt} ?`, after[0]);
    } else if (order === 'notAfter') {
      orderBy = by(['not_after', 'id']);
      if (after) add(`(not_after, id) ${gt} (?, ?)`, this.dp(new Date(after[0] as string)), after[1]);
    } else {
      orderBy = by([dev, 'id']);
      if (after) add(`(${dev}, id) ${gt} (?, ?)`, after[0], after[1]);
    }
    const rows = await this.q(
      'SELECT id, serial, subject, status, not_before, not_after, integration_id, device_id, revoked_at, revocation_reason, last_seen_at FROM certificates' +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY ${orderBy} LIMIT ?`,
      [...params, limit],
    );
    return rows.map((r) => {
      const notAfter = toIso(r.not_after)!;
      const stored = String(r.status);
      const status = stored !== 'revoked' && Date.parse(notAfter) <= now.getTime() ? 'expired' : (stored as CertificateListItem['status']);
      return {
        id: Number(r.id),
        serial: String(r.serial),
        subject: String(r.subject),
        status,
        notBefore: toIso(r.not_before)!,
        notAfter,
        integrationId: str(r.integration_id),
        deviceId: str(r.device_id),
        revokedAt: toIso(r.revoked_at),
        reason: stored === 'revoked' ? (revocationReasonFromCode(Number(r.revocation_reason ?? 0)) ?? 'unspecified') : null,
        lastSeenAt: toIso(r.last_seen_at),
      };
    });
  }

  /**
   * Devices ordered by device id, then integration: with an integration filter the walk is
   * (integration_id, device_id), without it (device_id, integration_id); both are indexes.
   * trust=revoked walks revoked certificates only (see revokedDevices); trust=trusted|expired is
   * a HAVING over the walk, so a rare status (expired devices) reads further per page.
   */
  async devices(f: DeviceFilter, dir: SortDirection, after: KeyPart[] | undefined, limit: number, now: Date): Promise<DeviceListItem[]> {
    let rows: Row[];
    if (f.trust === 'revoked') {
      const pairs = await this.revokedDevices(f, dir, after, limit, now);
      if (!pairs.length) return [];
      const these = this.pairsIn(pairs);
      const w = this.deviceWalk(f, dir, undefined);
      rows = await this.deviceStats([these.sql], these.params, w.groupBy, w.orderBy, undefined, limit, now);
    } else {
      const w = this.deviceWalk(f, dir, after);
      rows = await this.deviceStats(w.where, w.params, w.groupBy, w.orderBy, f.trust, limit, now);
    }
    const latest = new Map<number, string>();
    if (rows.length) {
      const ids = rows.map((r) => Number(r.latest_id));
      for (const r of await this.q(`SELECT id, serial FROM certificates WHERE id IN (${ids.map(() => '?').join(', ')})`, ids))
        latest.set(Number(r.id), String(r.serial));
    }
    return rows.map((r) => {
      const v = Number(r.valid);
      const rv = Number(r.revoked);
      const trust: DeviceTrust = v > 0 ? 'trusted' : rv > 0 ? 'revoked' : 'expired';
      return {
        integrationId: String(r.integration_id),
        deviceId: String(r.device_id),
        certificates: Number(r.n),
        validCertificates: v,
        revokedCertificates: rv,
        latestSerial: latest.get(Number(r.latest_id)) ?? null,
        trust,
        lastSeenAt: toIso(r.last_seen),
      };
    });
  }

  /** The conditions and order of a walk over devices from `after` on (see devices). */
  private deviceWalk(f: DeviceFilter, dir: SortDirection, after: KeyPart[] | undefined, extra?: string) {
    const dev = this.c('device_id');
    const desc = dir === 'desc';
    const gt = desc ? '<' : '>';
    const where = ['device_id IS NOT NULL', 'integration_id IS NOT NULL', ...(extra ? [extra] : [])];
    const params: unknown[] = [];
    const add = (sql: string, ...p: unknown[]) => where.push(sql) + params.push(...p);
    let cols: string[];
    if (f.integrationId !== undefined) {
      add('integration_id = ?', f.integrationId);
      if (after) add(`${dev} ${gt} ?`, after[0]);
      cols = ['integration_id', dev];
    } else {
      if (after) add(`(${dev}, integration_id) ${gt} (?, ?)`, after[0], after[1]);
      cols = [dev, 'integration_id'];
    }
    if (f.devicePrefix !== undefined) this.prefix(where, params, dev, f.devicePrefix, after?.[0], desc);
    return { where, params, groupBy: cols.join(', '), orderBy: cols.map((c) => (desc ? `${c} DESC` : c)).join(', ') };
  }

  /**
   * Devices with a revoked certificate and no valid one, in device order, walking the devices
   * with a revoked certificate (index status or integration, status, then device id). SQLite: one
   * query, NOT EXISTS looked up per candidate. PostgreSQL turns that NOT EXISTS into a hash
   * anti-join over every valid certificate (0.6 s a page at 1,000,000), so there: batches of
   * candidates, each checked with one lookup of their valid certificates (~20 ms a page; the
   * same batches on SQLite, whose OR of 500 lookups is slow to plan, take 0.2 s).
   */
  private async revokedDevices(f: DeviceFilter, dir: SortDirection, after: KeyPart[] | undefined, limit: number, now: Date): Promise<[string, string][]> {
    const dev = this.c('device_id');
    if (!this.pg) {
      const w = this.deviceWalk(f, dir, after, "status = 'revoked'");
      const rows = await this.q(
        `SELECT ${dev} AS device_id, integration_id FROM certificates r WHERE ${w.where.join(' AND ')}` +
          " AND NOT EXISTS (SELECT 1 FROM certificates v WHERE v.device_id = r.device_id AND v.integration_id = r.integration_id AND v.status <> 'revoked' AND v.not_after > ?)" +
          ` GROUP BY ${w.groupBy} ORDER BY ${w.orderBy} LIMIT ?`,
        [...w.params, this.dp(now), limit],
      );
      return rows.map((r) => [String(r.device_id), String(r.integration_id)]);
    }
    const batch = Math.max(500, limit * 2);
    const out: [string, string][] = [];
    for (let from = after; ;) {
      const w = this.deviceWalk(f, dir, from, "status = 'revoked'");
      const found = await this.q(
        `SELECT ${dev} AS device_id, integration_id FROM certificates WHERE ${w.where.join(' AND ')} GROUP BY ${w.groupBy} ORDER BY ${w.orderBy} LIMIT ?`,
        [...w.params, batch],
      );
      if (!found.length) return out;
      const pairs = found.map((r): [string, string] => [String(r.device_id), String(r.integration_id)]);
      const these = this.pairsIn(pairs);
      const valid = await this.q(`SELECT DISTINCT device_id, integration_id FROM certificates WHERE ${these.sql} AND status <> 'revoked' AND not_after > ?`, [
        ...these.params,
        this.dp(now),
      ]);
      const trusted = new Set(valid.map((r) => `${String(r.device_id)}\u0000${String(r.integration_id)}`));
      for (const p of pairs) if (!trusted.has(`${p[0]}\u0000${p[1]}`) && out.push(p) === limit) return out;
      if (found.length < batch) return out;
      from = pairs[pairs.length - 1];
    }
  }

  /**
   * "(device_id, integration_id) is one of these": two arrays on PostgreSQL (its planner takes
   * ~0.2 s over a 500-way OR), an OR of index lookups on SQLite (a page's 100 devices).
   */
  private pairsIn(pairs: [string, string][]): { sql: string; params: unknown[] } {
    if (this.pg)
      return {
        sql: '(device_id, integration_id) IN (SELECT d, i FROM unnest(?::varchar[], ?::varchar[]) AS p(d, i))',
        params: [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      };
    return { sql: `(${pairs.map(() => '(device_id = ? AND integration_id = ?)').join(' OR ')})`, params: pairs.flat() };
  }

  /** Per device: certificate counts, the latest certificate's id and the last time one was seen. */
  private deviceStats(
    where: string[],
    params: unknown[],
    groupBy: string,
    orderBy: string,
    trust: DeviceTrust | undefined,
    limit: number,
    now: Date,
  ): Promise<Row[]> {
    const dev = this.c('device_id');
    const valid = "SUM(CASE WHEN status <> 'revoked' AND not_after > ? THEN 1 ELSE 0 END)";
    const revoked = "SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END)";
    const having = { trusted: `${valid} > 0`, revoked: `${valid} = 0 AND ${revoked} > 0`, expired: `${valid} = 0 AND ${revoked} = 0` };
    return this.q(
      `SELECT ${dev} AS device_id, integration_id, COUNT(*) AS n, MAX(id) AS latest_id, ${valid} AS valid, ${revoked} AS revoked, MAX(last_seen_at) AS last_seen` +
        ` FROM certificates WHERE ${where.join(' AND ')} GROUP BY ${groupBy}` +
        (trust ? ` HAVING ${having[trust]}` : '') +
        ` ORDER BY ${orderBy} LIMIT ?`,
      [this.dp(now), ...params, ...(trust ? [this.dp(now)] : []), limit],
    );
  }

  /**
   * The current generation of each synced inventory (deleted integrations' left out), integration
   * by integration (ordered by id),
   * each walked by its primary key (integration, generation, udid_norm) from the cursor on. The
   * generation and the snapshot's time are read in the same statement as the rows, so a sync that
   * switches generations meanwhile shows either snapshot, never a half-deleted one.
   */
  async inventory(f: InventoryFilter, dir: SortDirection, after: KeyPart[] | undefined, limit: number): Promise<InventoryListItem[]> {
    const desc = dir === 'desc';
    const states = await this.q(
      'SELECT integration_id FROM ws1_sync_state WHERE last_success_at IS NOT NULL AND integration_id NOT IN (SELECT id FROM integrations WHERE deleted_at IS NOT NULL)' +
        (f.integrationId !== undefined ? ' AND integration_id = ?' : '') +
        (after ? ` AND integration_id ${desc ? '<=' : '>='} ?` : '') +
        ` ORDER BY integration_id${desc ? ' DESC' : ''}`,
      [...(f.integrationId !== undefined ? [f.integrationId] : []), ...(after ? [after[0]] : [])],
    );
    const udid = this.c('udid_norm');
    const out: InventoryListItem[] = [];
    for (const s of states) {
      if (out.length >= limit) break;
      const where = ['integration_id = ?', 'generation = (SELECT generation FROM ws1_sync_state WHERE integration_id = ?)'];
      const params: unknown[] = [s.integration_id, s.integration_id];
      const add = (sql: string, ...p: unknown[]) => where.push(sql) + params.push(...p);
      if (after && after[0] === s.integration_id) add(`${udid} ${desc ? '<' : '>'} ?`, after[1]);
      if (f.platform !== undefined) add('platform = ?', f.platform);
      if (f.enrollmentStatus !== undefined) add('enrollment_status = ?', f.enrollmentStatus);
      if (f.devicePrefix !== undefined)
        this.prefix(where, params, udid, f.devicePrefix.toLowerCase(), after && after[0] === s.integration_id ? after[1] : undefined, desc);
      const rows = await this.q(
        'SELECT integration_id, udid, udid_norm, serial_number, mac_address, imei, platform, enrollment_status, user_name, last_seen, ' +
          `(SELECT last_success_at FROM ws1_sync_state WHERE integration_id = ?) AS snapshot_at FROM ws1_devices WHERE ${where.join(' AND ')} ORDER BY ${udid}${desc ? ' DESC' : ''} LIMIT ?`,
        [s.integration_id, ...params, limit - out.length],
      );
      for (const r of rows)
        out.push({
          integrationId: String(r.integration_id),
          udid: String(r.udid),
          udidNorm: String(r.udid_norm),
          serialNumber: str(r.serial_number),
          macAddress: str(r.mac_address),
          imei: str(r.imei),
          platform: String(r.platform),
          enrollmentStatus: String(r.enrollment_status),
          userName: str(r.user_name),
          lastSeen: toIso(r.last_seen),
          syncedAt: toIso(r.snapshot_at)!,
        });
    }
    return out;
  }

  /**
   * `col` starts with `prefix`, as an index range: prefix <= col < prefix with its last code unit
   * + 1. With a cursor the range starts at the cursor's value instead (ascending: the lower bound;
   * descending: the upper one, inclusive, the row comparison excludes the cursor's row): SQLite
   * takes one bound for the index search, and the prefix's would make a deep page scan from there.
   */
  private prefix(where: string[], params: unknown[], col: string, prefix: string, from?: KeyPart, desc = false): void {
    if (prefix === '') return;
    const last = prefix.charCodeAt(prefix.length - 1);
    const end = prefix.slice(0, -1) + String.fromCharCode(last + 1);
    if (desc && typeof from === 'string' && from >= prefix && from < end) {
      where.push(`${col} >= ? AND ${col} <= ?`);
      params.push(prefix, from);
      return;
    }
    where.push(`${col} >= ? AND ${col} < ?`);
    params.push(!desc && typeof from === 'string' && from > prefix ? from : prefix, end);
  }
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

const SQLITE_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;

/**
 * A stored time as ISO 8601 (UTC). PostgreSQL answers Dates; SQLite answers the UTC text TypeORM
 * and dateParam write, 'YYYY-MM-DD HH:MM:SS.SSS', rewritten here without a Date in between.
 */
export function toIso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  if (SQLITE_TIME.test(s)) return `${s.slice(0, 10)}T${s.slice(11)}Z`;
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`).toISOString();
}
