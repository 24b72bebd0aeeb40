import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Actor } from '../../admin/audit.types';
import { Clock } from '../../shared/clock';
import { AppError, BadRequestError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { syncDevices, SyncProgress, SyncResult } from './device-sync';
import type { SyncStatus } from './inventory-store.ports';
import { Ws1Client, Ws1ClientOptions } from './ws1-client';
import type { InventoryLeaseRepository } from '../../db/inventory-lease.repository';
import type { InventoryRepository } from '../../db/inventory.repository';
import type { ScheduledSlot, SyncLeaseInfo } from './ws1-integration.types';
import { Ws1SettingsService } from './ws1-settings.service';
import type { Ws1Platform } from './ws1.types';

/** Another sync of the integration holds the lease (this process or another one). */
export class Ws1SyncBusyError extends AppError {
  constructor(id: string, lease?: SyncLeaseInfo) {
    super(
      `a sync of integration ${id} is already running${lease ? ` (${lease.owner}, lease until ${lease.expiresAt.toISOString()})` : ''}; try again when it has finished`,
      { status: 409, code: 'sync_busy' },
    );
  }
}

/** A SyncResult as stored and shown: the time as ISO text, the failure by its message only. */
export type SyncOutcome = (Omit<Extract<SyncResult, { ok: true }>, 'syncedAt'> & { syncedAt: string }) | Omit<Extract<SyncResult, { ok: false }>, 'error'>;

/** A sync as every instance sees it (the console's "Sync now" progress): from the database, not one process's memory. */
export interface SyncRunView {
  running: boolean;
  /** the running sync's latest stored progress (written at most every PROGRESS_WRITE_MS) */
  progress: SyncProgress | null;
  /** the last finished sync's outcome */
  outcome: SyncOutcome | null;
}

export interface SyncStatusView {
  integrationId: string;
  platform: Ws1Platform;
  deviceCount: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailureMessage: string | null;
  running: boolean;
}

export interface DeviceSearchResult {
  found: boolean;
  integrationId: string;
  identifier: string;
  device?: {
    udid: string;
    serialNumber: string | null;
    macAddress: string | null;
    imei: string | null;
    platform: string;
    enrollmentStatus: string;
    lastSeen: string | null;
    userName: string | null;
    syncedAt: string | null;
  };
  /** when the inventory searched was synced (null: never) */
  lastSuccessAt: string | null;
}

export interface Ws1SyncDeps {
  settings: Ws1SettingsService;
  leases: InventoryLeaseRepository;
  inventory: InventoryRepository;
  clock: Clock;
  logger: Logger;
  /** retry/pacing policy of the sync's WS1 client (tests shorten it) */
  clientOptions?: Ws1ClientOptions;
  /** lease length; renewed every third of it while the sync runs */
  leaseMs?: number;
  /** records who synced and the outcome (the audit log) */
  audit?: (actor: Actor, action: string, target: string, details: Record<string, unknown>) => Promise<void>;
  /** every finished sync's outcome (the metrics) */
  onOutcome?: (outcome: SyncOutcome) => void;
}

const DEFAULT_LEASE_MS = 2 * 60_000;
/** how often a running sync stores its progress for other instances to show */
const PROGRESS_WRITE_MS = 500;

/**
 * Runs WS1 device syncs under the integration's lease, and answers status and device searches.
 * The fetch-then-swap algorithm itself is `syncDevices`; this adds the lease (taken before the
 * first request, renewed while pages come in, released at the end) and a fenced store, so a
 * process that lost its lease cannot swap in a stale inventory.
 */
export class Ws1SyncService {
  private readonly instance = `${os.hostname()}:${process.pid}`;
  private readonly leaseMs: number;
  /** search is a hot path; an integration's type never changes, so its check is remembered briefly */
  private readonly checked = new Map<string, number>();

  constructor(private readonly deps: Ws1SyncDeps) {
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Syncs now. Throws Ws1SyncBusyError when another sync holds the lease; with `slot` (the nightly
   * run) answers undefined instead, and also when the slot was already served.
   */
  async sync(
    id: string,
    opts: { onProgress?: (p: SyncProgress) => void; onStarted?: () => void; slot?: ScheduledSlot; actor?: Actor } = {},
  ): Promise<SyncOutcome | undefined> {
    const { settings, leases, clock, logger } = this.deps;
    const integration = await settings.ws1Integration(id);
    const clientSettings = await settings.clientSettings(id);
    const owner = `${this.instance}:${randomBytes(4).toString('hex')}`;
    const now = clock.now();
    if (!(await leases.tryAcquire(id, owner, now, new Date(now.getTime() + this.leaseMs), opts.slot))) {
      if (opts.slot) return undefined;
      throw new Ws1SyncBusyError(id, await leases.currentLease(id, clock.now()));
    }
    const heartbeat = setInterval(
      () => {
        leases.renew(id, owner, new Date(clock.now().getTime() + this.leaseMs)).then(
          (held) => held || logger.warn({ integrationId: id }, 'ws1 sync lease lost; this run will not swap the inventory'),
          (err) => logger.warn({ integrationId: id, err }, 'ws1 sync lease renewal failed'),
        );
      },
      Math.max(1_000, Math.floor(this.leaseMs / 3)),
    );
    heartbeat.unref();
    const client = new Ws1Client(clientSettings, {
      ...this.deps.clientOptions,
      onEvent: (e) => logger.info({ integrationId: id, ...e }, e.type === 'retry' ? 'ws1 retry' : 'ws1 quota exhausted, waiting for reset'),
    });
    logger.info({ integrationId: id, platform: integration.platform, scheduled: Boolean(opts.slot) }, 'ws1 sync started');
    // progress goes to the sync-state row (any instance's console shows it), at most every PROGRESS_WRITE_MS
    let lastWrite = 0;
    let writing: Promise<void> | undefined;
    const onProgress = (p: SyncProgress) => {
      opts.onProgress?.(p);
      const t = Date.now();
      if (writing || t - lastWrite < PROGRESS_WRITE_MS) return;
      lastWrite = t;
      writing = leases
        .recordProgress(id, owner, JSON.stringify(p))
        .catch((err) => logger.warn({ integrationId: id, err }, 'ws1 sync progress not stored'))
        .finally(() => (writing = undefined));
    };
    let recorded = false;
    const record = async (o: SyncOutcome) => {
      await writing;
      recorded = true;
      await leases.recordOutcome(id, owner, JSON.stringify(o)).catch((err) => logger.warn({ integrationId: id, err }, 'ws1 sync outcome not stored'));
    };
    opts.onStarted?.();
    try {
      const previous = (await this.deps.inventory.getSyncStatus(id)).deviceCount;
      const r = await syncDevices({
        client,
        platform: integration.platform,
        store: leases.fencedStore(owner),
        integrationId: id,
        onProgress,
        clock,
      });
      const outcome = toOutcome(r);
      await record(outcome);
      if (outcome.ok) logger.info({ ...outcome }, 'ws1 sync finished');
      else logger.warn({ ...outcome }, 'ws1 sync failed; previous inventory kept');
      if (outcome.ok) warnOfSuspectInventory(logger, id, previous, outcome);
      this.deps.onOutcome?.(outcome);
      const actor = opts.actor ?? { who: opts.slot ? 'scheduler' : 'system', from: this.instance };
      const details = outcome.ok
        ? { ok: true, managed: outcome.managed, scheduled: Boolean(opts.slot) }
        : { ok: false, message: outcome.message, scheduled: Boolean(opts.slot) };
      await this.deps
        .audit?.(actor, 'integration.ws1.sync', id, details)
        .catch((err) => logger.warn({ integrationId: id, err }, 'audit record of a ws1 sync failed'));
      return outcome;
    } catch (err) {
      if (!recorded)
        await record({
          ok: false,
          integrationId: id,
          platform: integration.platform,
          pages: 0,
          fetched: 0,
          message: 'the sync failed; see the server log',
          durationMs: clock.now().getTime() - now.getTime(),
        });
      throw err;
    } finally {
      clearInterval(heartbeat);
      client.close();
      await leases.release(id, owner).catch((err) => logger.warn({ integrationId: id, err }, 'ws1 sync lease release failed'));
    }
  }

  /** The integration's sync as stored: running (lease held), its progress, the last outcome. */
  async run(id: string): Promise<SyncRunView> {
    await this.deps.settings.ws1Integration(id);
    const s = await this.deps.leases.runState(id, this.deps.clock.now());
    return { running: Boolean(s.lease), progress: parseJson<SyncProgress>(s.progressJson), outcome: parseJson<SyncOutcome>(s.outcomeJson) };
  }

  async status(id: string): Promise<SyncStatusView> {
    const integration = await this.deps.settings.ws1Integration(id);
    const s: SyncStatus = await this.deps.inventory.getSyncStatus(id);
    const lease = await this.deps.leases.currentLease(id, this.deps.clock.now());
    return {
      integrationId: id,
      platform: integration.platform,
      deviceCount: s.deviceCount,
      lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
      lastFailureAt: s.lastFailureAt?.toISOString() ?? null,
      lastFailureMessage: s.lastFailureMessage ?? null,
      running: Boolean(lease),
    };
  }

  private async checkIntegration(id: string): Promise<void> {
    const now = Date.now();
    if ((this.checked.get(id) ?? 0) > now) return;
    await this.deps.settings.ws1Integration(id);
    if (this.checked.size > 1_000) this.checked.clear();
    this.checked.set(id, now + CHECK_TTL_MS);
  }

  /** The "Check if devices have synced" box: case-insensitive on UDID, serial number, MAC address or IMEI. */
  async search(id: string, identifier: string): Promise<DeviceSearchResult> {
    await this.checkIntegration(id);
    const wanted = identifier.trim();
    if (!wanted || wanted.length > 256) throw new BadRequestError('give a UDID, serial number, MAC address or IMEI (1 to 256 characters)');
    const d = await this.deps.inventory.findByIdentifier(id, wanted);
    // a found device carries its snapshot's time, which is the last good sync: one query saved on the hot path
    const lastSuccessAt = d?.syncedAt ?? (await this.deps.inventory.getSyncStatus(id)).lastSuccessAt;
    const result: DeviceSearchResult = { found: Boolean(d), integrationId: id, identifier: wanted, lastSuccessAt: lastSuccessAt?.toISOString() ?? null };
    if (d) {
      result.device = {
        udid: d.udid,
        serialNumber: d.serialNumber || null,
        macAddress: d.macAddress ?? null,
        imei: d.imei ?? null,
        platform: d.platform,
        enrollmentStatus: d.enrollmentStatus,
        lastSeen: d.lastSeen?.toISOString() ?? null,
        userName: d.userName ?? null,
        syncedAt: d.syncedAt?.toISOString() ?? null,
      };
    }
    return result;
  }
}

/** a deleted integration stops answering searches within this time */
const CHECK_TTL_MS = 5_000;

function parseJson<T>(v: string | null): T | null {
  if (!v) return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}

function toOutcome(r: SyncResult): SyncOutcome {
  const base = { integrationId: r.integrationId, platform: r.platform, pages: r.pages, fetched: r.fetched, durationMs: r.durationMs };
  return r.ok ? { ok: true, ...base, managed: r.managed, skipped: r.skipped, syncedAt: r.syncedAt.toISOString() } : { ok: false, ...base, message: r.message };
}

/**
 * A successful sync is applied as WS1 reported it, but two things an admin should look at are
 * logged: skipped devices (counted only: their identifiers are what made them unsafe to print),
 * and an inventory that shrank by more than 90%, as a WS1 answering wrongly could cause it.
 */
function warnOfSuspectInventory(logger: Logger, integrationId: string, previous: number, o: { managed: number; skipped: number }): void {
  if (o.skipped > 0) logger.warn({ integrationId, skipped: o.skipped }, 'ws1 sync skipped devices whose identifiers are unprintable or too long');
  if (previous > 0 && o.managed * 10 < previous) {
    logger.warn({ integrationId, previous, managed: o.managed }, 'ws1 sync shrank the inventory by more than 90%; check Workspace ONE if this is unexpected');
  }
}
