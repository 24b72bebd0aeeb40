import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { RetentionRepository } from '../db/retention.repository';
import type { JobLeaseRepository } from '../db/job-lease.repository';

export interface RetentionOptions {
  /** days kept; 0 = forever */
  authLogDays: number;
  auditDays: number;
  scepTransactionDays: number;
  intervalMinutes: number;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** rows per statement (default 1,000) and the pause between statements (default 50 ms) */
  batchSize?: number;
  pauseMs?: number;
  /** the job lease; a run stops at 80% of it and goes on at the next interval (default 15 min) */
  leaseMs?: number;
}

export interface RetentionResult {
  /** rows deleted per table */
  deleted: { authLog: number; audit: number; scepTransactions: number };
  /** true when the run stopped early (lease time used up, or the server stopping) */
  partial: boolean;
  ms: number;
}

const JOB = 'retention';
const DAY_MS = 86_400_000;

/**
 * Prunes the authentication log, the audit log and finished SCEP transactions by age. Every
 * instance looks every interval; the job lease makes one of them run it. Deletes go in small
 * batches with a pause between them, so requests are never held behind a long delete.
 */
export class RetentionJob {
  private timer?: NodeJS.Timeout;
  private first?: NodeJS.Timeout;
  private running?: Promise<RetentionResult | undefined>;
  private stopping = false;
  private readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly repo: RetentionRepository,
    private readonly leases: JobLeaseRepository,
    private readonly o: RetentionOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    const every = this.o.intervalMinutes * 60_000;
    // a first run soon after start (not at once: start-up has enough to do), then every interval
    this.first = setTimeout(() => void this.tick(), Math.min(every, 60_000 + Math.floor(Math.random() * 30_000)));
    this.timer = setInterval(() => void this.tick(), every);
    this.first.unref();
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.first);
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private tick(): Promise<unknown> {
    return this.runOnce().catch(() => undefined);
  }

  /** One run now; undefined when another instance holds the lease (or a run is already going here). */
  runOnce(): Promise<RetentionResult | undefined> {
    if (this.running) return Promise.resolve(undefined);
    this.running = this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<RetentionResult | undefined> {
    const { clock, logger, metrics } = this.o;
    const leaseMs = this.o.leaseMs ?? 15 * 60_000;
    const started = clock.now();
    if (!(await this.leases.tryAcquire(JOB, this.owner, started, new Date(started.getTime() + leaseMs)))) {
      metrics.retentionRuns.inc({ result: 'skipped' });
      logger.debug('retention: another instance holds the lease');
      return undefined;
    }
    const deadline = Date.now() + leaseMs * 0.8;
    const deleted = { authLog: 0, audit: 0, scepTransactions: 0 };
    let partial = false;
    const more = () => !this.stopping && Date.now() < deadline;
    let result = 'failed';
    try {
      const cutoff = (days: number) => new Date(started.getTime() - days * DAY_MS);
      const batch = this.o.batchSize ?? 1000;
      const finished = [
        this.o.authLogDays > 0 ? await this.pruneLog('auth_log', cutoff(this.o.authLogDays), batch, more, (n) => (deleted.authLog += n)) : true,
        this.o.auditDays > 0 ? await this.pruneLog('audit_log', cutoff(this.o.auditDays), batch, more, (n) => (deleted.audit += n)) : true,
        this.o.scepTransactionDays > 0
          ? await this.pruneTransactions(cutoff(this.o.scepTransactionDays), started, batch, more, (n) => (deleted.scepTransactions += n))
          : true,
      ];
      partial = finished.includes(false);
      const ms = Date.now() - started.getTime();
      metrics.retentionDeleted.inc({ table: 'auth_log' }, deleted.authLog);
      metrics.retentionDeleted.inc({ table: 'audit_log' }, deleted.audit);
      metrics.retentionDeleted.inc({ table: 'scep_transactions' }, deleted.scepTransactions);
      metrics.retentionRuns.inc({ result: 'done' });
      metrics.retentionLastSuccess.set(clock.now().getTime() / 1000);
      logger.info(
        { deleted, partial, ms, days: { authLog: this.o.authLogDays, audit: this.o.auditDays, scepTransactions: this.o.scepTransactionDays } },
        'retention run finished',
      );
      result = JSON.stringify({ deleted, partial });
      return { deleted, partial, ms };
    } catch (err) {
      metrics.retentionRuns.inc({ result: 'failed' });
      logger.error({ err, deleted }, 'retention run failed');
      throw err;
    } finally {
      await this.leases.release(JOB, this.owner, clock.now(), result).catch((err) => logger.warn({ err }, 'retention: lease release failed'));
    }
  }

  /** true when finished, false when stopped early */
  private async pruneLog(table: 'auth_log' | 'audit_log', cutoff: Date, batch: number, more: () => boolean, add: (n: number) => void): Promise<boolean> {
    for (;;) {
      const n = await this.repo.deleteLogBatch(table, cutoff, batch);
      add(n);
      if (n < batch) return true;
      if (!more()) return false;
      await this.pause();
    }
  }

  private async pruneTransactions(cutoff: Date, now: Date, batch: number, more: () => boolean, add: (n: number) => void): Promise<boolean> {
    let afterId = 0;
    for (;;) {
      const r = await this.repo.deleteScepTransactionBatch(cutoff, now, afterId, batch);
      add(r.deleted);
      if (r.lastId === undefined) return true;
      afterId = r.lastId;
      if (!more()) return false;
      // a look that deleted nothing took no write lock: no need to wait as long
      if (r.deleted > 0) await this.pause();
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.o.pauseMs ?? 50));
  }
}
