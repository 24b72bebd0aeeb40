import type { ConsoleStatsRepository } from '../db/console-stats.repository';
import type { Clock } from '../shared/clock';

export const EXPIRING_WITHIN_DAYS = 30;

/** Certificates of one integration (or of all, keyed ''), and the devices holding a valid one. */
export interface IntegrationCounts {
  valid: number;
  expiring: number;
  revoked: number;
  devices: number;
}

export interface StatsSnapshot {
  at: Date;
  /** by integration id; '' = certificates of no integration (the static-challenge endpoint) */
  byIntegration: Map<string, IntegrationCounts>;
  total: IntegrationCounts;
}

const ZERO: IntegrationCounts = { valid: 0, expiring: 0, revoked: 0, devices: 0 };

/**
 * Certificate counts for the console, counted in the background and served from memory: counting a
 * million certificates takes longer than a page may, so pages show the latest snapshot and its
 * time, and a page view older than `maxAgeMs` (or a change made in the console) starts a new count.
 * Nobody looking at the console costs nothing.
 */
export class ConsoleStats {
  private snapshot: StatsSnapshot | undefined;
  private running: Promise<void> | undefined;
  private stale = true;

  constructor(
    private readonly repo: ConsoleStatsRepository,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The latest snapshot (undefined until the first count finishes); starts a recount when stale. */
  current(): StatsSnapshot | undefined {
    const age = this.snapshot ? this.clock.now().getTime() - this.snapshot.at.getTime() : Infinity;
    if (this.stale || age > this.maxAgeMs) void this.refresh();
    return this.snapshot;
  }

  counts(integrationId: string): IntegrationCounts | undefined {
    const s = this.current();
    return s && (s.byIntegration.get(integrationId) ?? ZERO);
  }

  /** A change was made: the next page view counts again. */
  invalidate(): void {
    this.stale = true;
  }

  /** Counts now (one at a time); resolves when done. */
  refresh(): Promise<void> {
    this.running ??= (async () => {
      try {
        this.stale = false;
        const now = this.clock.now();
        const byIntegration = await this.repo.certificateCounts(now, new Date(now.getTime() + EXPIRING_WITHIN_DAYS * 86_400_000));
        const total = { ...ZERO };
        for (const c of byIntegration.values()) for (const k of Object.keys(total) as (keyof IntegrationCounts)[]) total[k] += c[k];
        this.snapshot = { at: now, byIntegration, total };
      } catch (err) {
        this.stale = true;
        this.onError(err);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
