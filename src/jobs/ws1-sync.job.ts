import { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { SyncOutcome } from '../mdm/workspace-one/ws1-sync.service';
import type { ScheduledSlot } from '../mdm/workspace-one/ws1-integration.types';
import { currentSlot, DailyTime } from './daily-slot';

/** What the scheduler needs from the WS1 services (Ws1SyncService and Ws1SettingsService satisfy it). */
export interface ScheduledSyncTarget {
  /** integrations with WS1 settings */
  listConfigured(): Promise<string[]>;
  /** undefined: another instance has it, or the slot was already served */
  sync(id: string, opts: { slot: ScheduledSlot }): Promise<SyncOutcome | undefined>;
}

export interface Ws1SyncSchedulerOptions {
  time: DailyTime;
  /** each integration starts at a random moment within this many minutes after the time */
  spreadMinutes: number;
  clock: Clock;
  logger: Logger;
  /** how often to look (default one minute) */
  tickMs?: number;
  random?: () => number;
}

/**
 * The nightly WS1 device sync. Every instance runs this; the sync lease (with the slot key) makes
 * sure each integration is synced once per night however many instances look. An instance that was
 * down at the time catches up when it starts, unless a sync succeeded since the slot began.
 */
export class Ws1SyncScheduler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** per slot: the delay chosen for each integration, and those already tried by this instance */
  private slotKey = '';
  private delays = new Map<string, number>();
  private tried = new Set<string>();

  constructor(
    private readonly target: ScheduledSyncTarget,
    private readonly opts: Ws1SyncSchedulerOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One look: syncs (one after another, to spare the WS1 quota) every integration that is due. */
  tick(): Promise<void> {
    this.running ??= this.runDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runDue(): Promise<void> {
    const { clock, logger } = this.opts;
    try {
      const slot = currentSlot(this.opts.time, clock.now());
      if (slot.key !== this.slotKey) {
        this.slotKey = slot.key;
        this.delays.clear();
        this.tried.clear();
      }
      for (const id of await this.target.listConfigured()) {
        if (this.tried.has(id) || clock.now().getTime() < slot.startsAt.getTime() + this.delayFor(id)) continue;
        this.tried.add(id);
        try {
          const outcome = await this.target.sync(id, { slot });
          if (!outcome) logger.debug({ integrationId: id, slot: slot.key }, 'nightly ws1 sync: served by another instance');
        } catch (err) {
          logger.warn({ integrationId: id, slot: slot.key, err }, 'nightly ws1 sync could not start');
        }
      }
    } catch (err) {
      logger.error({ err }, 'ws1 sync scheduler failed');
    }
  }

  private delayFor(id: string): number {
    let d = this.delays.get(id);
    if (d === undefined) {
      d = Math.floor((this.opts.random ?? Math.random)() * this.opts.spreadMinutes * 60_000);
      this.delays.set(id, d);
    }
    return d;
  }
}
