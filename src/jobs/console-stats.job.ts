import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ConsoleStatsRepository } from '../db/console-stats.repository';
import type { JobLeaseRepository } from '../db/job-lease.repository';
import { CERTIFICATE_COUNTS, EXPIRING_WITHIN_DAYS } from '../lists/console-stats.service';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';

export interface ConsoleStatsJobOptions {
  /** how often the counts are taken */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** the job lease (default 10 minutes; a count of a million certificates takes seconds) */
  leaseMs?: number;
}

const JOB = 'console-stats';

/**
 * Counts the console's certificate figures (valid, expiring, revoked, devices, per integration)
 * every interval and stores them in console_stats, so pages read one small row and never count.
 * Every instance looks; the job lease lets one count at a time, and a snapshot younger than most of
 * the interval is not counted again, so several instances do not multiply the work. A change made
 * in the console asks for a recount at once (`requestRun`).
 */
export class ConsoleStatsJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<boolean>;
  private again = false;
  private readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly repo: ConsoleStatsRepository,
    private readonly leases: JobLeaseRepository,
    private readonly o: ConsoleStatsJobOptions,
  ) {}

  /** A first count right away (in the background), then one every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(false), this.o.intervalMs);
    this.timer.unref();
    void this.runOnce(false);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.again = false;
    await this.running;
  }

  /** A recount soon, whatever the snapshot's age (after a change); at most one more after the one running. */
  requestRun(): void {
    if (this.running) this.again = true;
    else void this.runOnce(true);
  }

  /**
   * One count now, unless the stored snapshot is fresh (and `force` is false) or another instance
   * holds the lease. True when this call counted.
   */
  runOnce(force = true): Promise<boolean> {
    if (this.running) return this.running.then(() => false);
    this.running = this.count(force)
      .catch((err: unknown) => {
        this.o.logger.error({ err }, 'console: counting certificates failed');
        return false;
      })
      .finally(() => {
        this.running = undefined;
        if (this.again && this.timer) {
          this.again = false;
          void this.runOnce(true);
        }
      });
    return this.running;
  }

  private async count(force: boolean): Promise<boolean> {
    const { clock } = this.o;
    const start = clock.now();
    if (!force) {
      const last = await this.repo.loadSnapshot(CERTIFICATE_COUNTS);
      if (last && start.getTime() - last.at.getTime() < this.o.intervalMs * 0.9) return false;
    }
    const leaseMs = this.o.leaseMs ?? 10 * 60_000;
    if (!(await this.leases.tryAcquire(JOB, this.owner, start, new Date(start.getTime() + leaseMs)))) return false;
    let result = 'failed';
    try {
      const t0 = performance.now();
      const byIntegration = await this.repo.certificateCounts(start, new Date(start.getTime() + EXPIRING_WITHIN_DAYS * 86_400_000));
      const ms = performance.now() - t0;
      await this.repo.saveSnapshot(CERTIFICATE_COUNTS, start, ms, JSON.stringify(Object.fromEntries(byIntegration)));
      result = `counted in ${Math.round(ms)} ms`;
      this.o.logger.debug({ ms: Math.round(ms) }, 'console: certificates counted');
      return true;
    } finally {
      await this.leases.release(JOB, this.owner, clock.now(), result).catch(() => undefined);
    }
  }
}
