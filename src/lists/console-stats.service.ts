import type { ConsoleStatsRepository } from '../db/console-stats.repository';

export const EXPIRING_WITHIN_DAYS = 30;
/** the name of the certificate-count snapshot in console_stats */
export const CERTIFICATE_COUNTS = 'certificates';

/** Certificates of one integration (or of all, keyed ''), and the devices holding a valid one. */
export interface IntegrationCounts {
  valid: number;
  expiring: number;
  revoked: number;
  devices: number;
}

export interface StatsSnapshot {
  /** when the counts were computed */
  at: Date;
  /** how long the count took */
  durationMs: number;
  /** by integration id; '' = certificates of no integration (the static-challenge endpoint) */
  byIntegration: Map<string, IntegrationCounts>;
  total: IntegrationCounts;
}

const ZERO: IntegrationCounts = { valid: 0, expiring: 0, revoked: 0, devices: 0 };

/**
 * The console's certificate counts as the console-stats job stored them (jobs/console-stats.job.ts):
 * counting a million certificates takes longer than a page may, so no page view counts; pages read
 * the latest stored snapshot (one small row, the same on every instance) and show its time.
 */
export class ConsoleStats {
  constructor(
    private readonly repo: ConsoleStatsRepository,
    /** asks the job for a recount soon (after a change made in the console) */
    private readonly recount: () => void,
  ) {}

  /** The latest snapshot; undefined until the first count has finished. */
  async current(): Promise<StatsSnapshot | undefined> {
    const row = await this.repo.loadSnapshot(CERTIFICATE_COUNTS);
    if (!row) return undefined;
    const byIntegration = new Map(Object.entries(JSON.parse(row.countsJson) as Record<string, IntegrationCounts>));
    return { at: row.at, durationMs: row.durationMs, byIntegration, total: totalOf(byIntegration) };
  }

  async counts(integrationId: string): Promise<IntegrationCounts | undefined> {
    const s = await this.current();
    return s && (s.byIntegration.get(integrationId) ?? ZERO);
  }

  /** A change was made: the job counts again soon, in the background. */
  invalidate(): void {
    this.recount();
  }
}

export function totalOf(byIntegration: Map<string, IntegrationCounts>): IntegrationCounts {
  const total = { ...ZERO };
  for (const c of byIntegration.values()) for (const k of Object.keys(total) as (keyof IntegrationCounts)[]) total[k] += c[k];
  return total;
}
