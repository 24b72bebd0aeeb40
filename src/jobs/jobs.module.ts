import { ConsoleStatsRepository } from '../db/console-stats.repository';
import { JobLeaseRepository } from '../db/job-lease.repository';
import { ConsoleStats } from '../lists/console-stats.service';
import { ConsoleStatsJob } from './console-stats.job';
import { RetentionRepository } from '../db/retention.repository';
import type { MdmModule } from '../mdm/mdm.module';
import { parseDailyTime } from './daily-slot';
import { RetentionJob } from './retention.job';
import { Ws1SyncScheduler } from './ws1-sync.job';
import type { BuildContext } from '../shared/build-context';

export interface JobsModuleDeps extends BuildContext {
  mdm: Pick<MdmModule, 'ws1Settings' | 'ws1Sync'>;
}

/**
 * Background jobs: retention pruning (server: periodic; CLI: `scepter retention run`) and, on the
 * server only, the nightly WS1 device sync and the console's certificate counts. DB leases make
 * each run once across instances.
 */
export function buildJobsModule({ config, db, clock, logger, metrics, mdm }: JobsModuleDeps) {
  const leases = new JobLeaseRepository(db);
  const retention = new RetentionJob(new RetentionRepository(db), leases, { ...config.retention, clock, logger, metrics });
  // the console's certificate counts: the job stores them every interval, pages read the stored snapshot
  const consoleStatsRepo = new ConsoleStatsRepository(db);
  const consoleStatsJob = new ConsoleStatsJob(consoleStatsRepo, leases, { intervalMs: config.console.statsIntervalMs, clock, logger });
  let ws1Scheduler: Ws1SyncScheduler | undefined;
  return {
    /** the console's latest stored counts; a change made in the console asks the job for a recount */
    consoleStats: new ConsoleStats(consoleStatsRepo, () => consoleStatsJob.requestRun()),
    /** pruning of the auth log, audit log and finished SCEP transactions by age */
    retention,
    /** a rolled-back test write (readiness) */
    probeDatabaseWrite: () => leases.probeWrite(),
    /** server only: starts the nightly WS1 sync (when SCEPTER_WS1_SYNC_TIME is set) and retention pruning */
    startJobs(): void {
      // the sync lease makes the nightly sync run once across instances
      ws1Scheduler = config.ws1.syncTime
        ? new Ws1SyncScheduler(
            { listConfigured: () => mdm.ws1Settings.listConfigured(), sync: (id, o) => mdm.ws1Sync.sync(id, o) },
            { time: parseDailyTime(config.ws1.syncTime), spreadMinutes: config.ws1.spreadMinutes, clock, logger },
          )
        : undefined;
      ws1Scheduler?.start();
      // retention pruning: every instance looks, the job lease lets one of them run it
      retention.start();
      consoleStatsJob.start();
    },
    async stopJobs(): Promise<void> {
      await ws1Scheduler?.stop();
      await retention.stop();
      await consoleStatsJob.stop();
    },
  };
}

export type JobsModule = ReturnType<typeof buildJobsModule>;
