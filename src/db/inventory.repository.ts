import { EntityManager } from 'typeorm';
import {
  InventoryGeneration,
  InventoryLookup,
  InventoryStore,
  normalizeIdentifier,
  StoredManagedDevice,
  SyncStatus,
} from '../mdm/workspace-one/inventory-store.ports';
import type { ManagedDevice } from '../mdm/workspace-one/ws1.types';
import { AppError } from '../shared/errors';
import { Database } from './database';
import { dateParam, dbDate, Dialect } from './dialect';
import { Ws1SyncStateRow } from './entities/ws1-inventory.entity';

const COLUMNS = [
  'integration_id',
  'generation',
  'udid_norm',
  'udid',
  'serial_number',
  'serial_norm',
  'mac_address',
  'mac_norm',
  'imei',
  'imei_norm',
  'platform',
  'enrollment_status',
  'last_seen',
  'user_name',
  'synced_at',
];
/** rows per INSERT: 15 x 500 parameters stay far below SQLite's and PostgreSQL's limits */
const INSERT_CHUNK = 500;
/** rows per transaction: commits are what costs on SQLite, and a few hundred ms of write lock is fine */
const TRANSACTION_ROWS = 5_000;
/** on a repeated UDID the later copy wins: WS1 may shift devices between pages mid-walk */
const UPSERT = ` ON CONFLICT (integration_id, generation, udid_norm) DO UPDATE SET ${COLUMNS.filter(
  (c) => !['integration_id', 'generation', 'udid_norm'].includes(c),
)
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}`;
const DELETE_CHUNK = 5_000;

/** The swap found the lease taken by someone else (or the generation moved): nothing was changed. */
export class SyncLeaseLostError extends AppError {
  constructor(integrationId: string) {
    super(`the sync lease of ${integrationId} was lost to another process; the inventory was left as it was`, { status: 409, code: 'sync_lease_lost' });
  }
}

/**
 * Device inventories per integration (ports InventoryStore and InventoryLookup).
 *
 * A sync takes a fresh generation number from `ws1_sync_state.next_generation`, writes its pages
 * into that generation in short transactions (an upsert on the primary key, so overlapping pages
 * keep one row per device), then flips `ws1_sync_state.generation` in one transaction and deletes
 * the old rows. Readers join on the current generation in one statement, so they see the old
 * inventory or the new one, never a mix. A failed walk deletes its generation; a crash leaves
 * invisible rows that the next sync of the integration removes. Every sync writes its own
 * generation number, so a process that lost its lease cannot add rows to its successor's
 * snapshot. Short transactions keep SQLite's single writer free for enrollments during a
 * 1,000,000-device sync.
 */
export class InventoryRepository implements InventoryStore, InventoryLookup {
  constructor(private readonly db: Database) {}

  beginGeneration(integrationId: string, startedAt: Date): Promise<InventoryGeneration> {
    return this.begin(integrationId, startedAt);
  }

  /**
   * With `leaseOwner`, the generation is only taken, and only made current, while that owner holds
   * the integration's sync lease (SyncLeaseLostError otherwise).
   */
  async begin(integrationId: string, startedAt: Date, leaseOwner?: string): Promise<InventoryGeneration> {
    await this.ensureState(integrationId);
    const taken = await this.db.transaction(async (m) => {
      const qb = m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ nextGeneration: () => 'CASE WHEN next_generation > generation THEN next_generation + 1 ELSE generation + 1 END' })
        .where('integration_id = :integrationId', { integrationId });
      if (leaseOwner !== undefined) qb.andWhere('lock_owner = :leaseOwner', { leaseOwner });
      if ((await qb.execute()).affected !== 1) return undefined;
      return (await this.state(integrationId, m))!;
    });
    if (!taken) throw new SyncLeaseLostError(integrationId);
    const current = Number(taken.generation);
    const mine = Number(taken.nextGeneration);
    // leftovers of a crashed or failed sync, and of a process that lost its lease
    await this.deleteGenerations(integrationId, 'generation <> :current AND generation <> :mine', { current, mine });
    return new GenerationWriter(this, integrationId, current, mine, startedAt, leaseOwner);
  }

  /** Upserts one batch into `generation`, in transactions of at most TRANSACTION_ROWS rows. */
  async writeRows(integrationId: string, generation: number, devices: readonly ManagedDevice[], startedAt: Date): Promise<void> {
    for (let i = 0; i < devices.length; i += TRANSACTION_ROWS) {
      const batch = new Map<string, unknown[]>(); // one row per key and statement: PostgreSQL refuses to upsert a row twice in one
      for (const d of devices.slice(i, i + TRANSACTION_ROWS)) {
        const udidNorm = clip(normalizeIdentifier(d.udid), 256);
        if (udidNorm) batch.set(udidNorm, this.row(integrationId, generation, udidNorm, d, startedAt));
      }
      if (batch.size) await this.insertRows([...batch.values()]);
    }
  }

  /**
   * Makes `next` current if `current` still is (and the lease is still held), with its device
   * count; undefined when it was not. The count is taken before the switch's transaction (only
   * this sync writes `next`), so the write lock is held for one UPDATE.
   */
  async flip(integrationId: string, current: number, next: number, syncedAt: Date, leaseOwner: string | undefined): Promise<number | undefined> {
    const sql = 'SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ? AND generation = ?';
    const rows = await this.db.manager.query<{ n: number | string }[]>(placeholders(this.db.dialect, sql), [integrationId, next]);
    const deviceCount = Number(rows[0]?.n ?? 0);
    return this.db.transaction(async (m) => {
      const qb = m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ generation: next, deviceCount, lastSuccessAt: syncedAt })
        .where('integration_id = :integrationId AND generation = :current', { integrationId, current });
      if (leaseOwner !== undefined) qb.andWhere('lock_owner = :leaseOwner', { leaseOwner });
      return (await qb.execute()).affected === 1 ? deviceCount : undefined;
    });
  }

  /** Deletes one generation's rows (not the current one: callers pass a generation they own or replaced). */
  dropGeneration(integrationId: string, generation: number): Promise<void> {
    return this.deleteGenerations(integrationId, 'generation = :generation', { generation });
  }

  async recordSyncFailure(integrationId: string, message: string, at: Date): Promise<void> {
    await this.ensureState(integrationId);
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ lastFailureAt: at, lastFailureMessage: clip(message, 1024) })
        .where('integration_id = :integrationId', { integrationId })
        .execute(),
    );
  }

  async findByIdentifier(integrationId: string, identifier: string): Promise<StoredManagedDevice | undefined> {
    const id = normalizeIdentifier(identifier);
    if (!id) return undefined;
    // one indexed probe per identifier column; a UDID match wins over a serial, MAC or IMEI match;
    // one statement, so the row and the snapshot time both come from the current generation
    const probe = (col: string, rank: number) =>
      `SELECT ${rank} AS rank, d.udid, d.serial_number, d.mac_address, d.imei, d.platform, d.enrollment_status, d.last_seen, d.user_name, s.last_success_at ` +
      `FROM ws1_devices d JOIN ws1_sync_state s ON s.integration_id = d.integration_id AND s.generation = d.generation ` +
      `WHERE s.integration_id = ? AND d.integration_id = ? AND d.${col} = ?`;
    const sql = `SELECT * FROM (${['udid_norm', 'serial_norm', 'mac_norm', 'imei_norm'].map((c, i) => probe(c, i)).join(' UNION ALL ')}) x ORDER BY rank LIMIT 1`;
    const params = Array.from({ length: 4 }, () => [integrationId, integrationId, id]).flat();
    const [r] = await this.db.manager.query<Record<string, unknown>[]>(placeholders(this.db.dialect, sql), params);
    if (!r) return undefined;
    const device: StoredManagedDevice = {
      udid: String(r.udid),
      serialNumber: (r.serial_number as string | null) ?? '',
      platform: String(r.platform),
      enrollmentStatus: String(r.enrollment_status),
    };
    if (r.mac_address) device.macAddress = String(r.mac_address);
    if (r.imei) device.imei = String(r.imei);
    if (r.last_seen) device.lastSeen = dbDate(r.last_seen);
    if (r.user_name) device.userName = String(r.user_name);
    if (r.last_success_at) device.syncedAt = dbDate(r.last_success_at);
    return device;
  }

  async getSyncStatus(integrationId: string): Promise<SyncStatus> {
    // raw: the not-found answer of every device search reads this
    const sql = 'SELECT device_count, last_success_at, last_failure_at, last_failure_message FROM ws1_sync_state WHERE integration_id = ?';
    const [s] = await this.db.manager.query<Record<string, unknown>[]>(placeholders(this.db.dialect, sql), [integrationId]);
    const status: SyncStatus = { deviceCount: Number(s?.device_count ?? 0) };
    if (s?.last_success_at) status.lastSuccessAt = dbDate(s.last_success_at);
    if (s?.last_failure_at) status.lastFailureAt = dbDate(s.last_failure_at);
    if (s?.last_failure_message) status.lastFailureMessage = String(s.last_failure_message);
    return status;
  }

  state(integrationId: string, m: EntityManager = this.db.manager): Promise<Ws1SyncStateRow | null> {
    return m.getRepository<Ws1SyncStateRow>('Ws1SyncState').findOne({ where: { integrationId } });
  }

  /** The sync-state row every lease and swap updates conditionally; created once (INSERT OR IGNORE / ON CONFLICT DO NOTHING). */
  async ensureState(integrationId: string): Promise<void> {
    await this.db.transaction((m) =>
      m.createQueryBuilder().insert().into('Ws1SyncState').values({ integrationId, generation: 0, nextGeneration: 0, deviceCount: 0 }).orIgnore().execute(),
    );
  }

  private row(integrationId: string, generation: number, udidNorm: string, d: ManagedDevice, startedAt: Date): unknown[] {
    const norm = (v: string | undefined, n: number) => (v ? clip(normalizeIdentifier(v), n) || null : null);
    const dialect = this.db.dialect;
    return [
      integrationId,
      generation,
      udidNorm,
      clip(d.udid, 256),
      d.serialNumber ? clip(d.serialNumber, 128) : null,
      norm(d.serialNumber, 128),
      d.macAddress ? clip(d.macAddress, 64) : null,
      norm(d.macAddress, 64),
      d.imei ? clip(d.imei, 64) : null,
      norm(d.imei, 64),
      clip(d.platform, 32),
      clip(d.enrollmentStatus, 32),
      d.lastSeen ? dateParam(dialect, d.lastSeen) : null,
      d.userName ? clip(d.userName, 256) : null,
      dateParam(dialect, startedAt),
    ];
  }

  private async insertRows(rows: unknown[][]): Promise<void> {
    const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;
    await this.db.transaction(async (m) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        const sql = `INSERT INTO ws1_devices (${COLUMNS.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}${UPSERT}`;
        await m.query(placeholders(this.db.dialect, sql), chunk.flat());
      }
    });
  }

  /** Deletes in bounded transactions so that no single one holds the write lock for long. */
  async deleteGenerations(integrationId: string, condition: string, params: Record<string, number>): Promise<void> {
    for (;;) {
      const affected = await this.db.transaction(async (m) => {
        const keys = m
          .createQueryBuilder()
          .subQuery()
          .select('k.udid_norm')
          .from('ws1_devices', 'k')
          .where(`k.integration_id = :integrationId AND k.${condition}`)
          .limit(DELETE_CHUNK)
          .getQuery();
        const res = await m
          .createQueryBuilder()
          .delete()
          .from('Ws1Device')
          .where(`integration_id = :integrationId AND ${condition} AND udid_norm IN ${keys}`, { integrationId, ...params })
          .execute();
        return res.affected ?? 0;
      });
      if (affected < DELETE_CHUNK) return;
    }
  }
}

/** One generation being written by one sync; see InventoryRepository. */
class GenerationWriter implements InventoryGeneration {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly repo: InventoryRepository,
    private readonly integrationId: string,
    private readonly current: number,
    private readonly generation: number,
    private readonly startedAt: Date,
    private readonly leaseOwner: string | undefined,
  ) {}

  /** devices waiting for a full transaction: a few pages at most, never the fleet */
  private pending: ManagedDevice[] = [];

  async add(devices: readonly ManagedDevice[]): Promise<void> {
    this.assertOpen();
    this.pending.push(...devices);
    if (this.pending.length >= TRANSACTION_ROWS) await this.flush();
  }

  async commit(syncedAt: Date): Promise<number> {
    this.assertOpen();
    await this.flush();
    const count = await this.repo.flip(this.integrationId, this.current, this.generation, syncedAt, this.leaseOwner);
    if (count === undefined) {
      await this.abort();
      throw new SyncLeaseLostError(this.integrationId);
    }
    this.state = 'committed';
    // the old rows are invisible from here on; should this fail, the next sync removes them
    await this.repo.dropGeneration(this.integrationId, this.current).catch(() => undefined);
    return count;
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.pending = [];
    await this.repo.dropGeneration(this.integrationId, this.generation);
  }

  private async flush(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    await this.repo.writeRows(this.integrationId, this.generation, rows, this.startedAt);
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`inventory generation ${this.generation} of ${this.integrationId} is already ${this.state}`);
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** `?` placeholders as each driver wants them (PostgreSQL: $1, $2, ...). */
export function placeholders(dialect: Dialect, sql: string): string {
  if (dialect !== 'postgres') return sql;
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

export { dbDate };
