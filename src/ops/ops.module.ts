import type { CaModule } from '../ca/ca.module';
import { publicUrlIsDefault } from '../config/config';
import type { Database } from '../db/database';
import { ReadinessService } from './readiness.service';
import type { BuildContext } from '../shared/build-context';

export interface OpsModuleDeps extends BuildContext {
  ca: Pick<CaModule, 'authority' | 'revocationView'>;
  /** a write the database must accept (rolled back) */
  probeDatabaseWrite: () => Promise<void>;
}

/** Server only: process and connection-pool metrics, and the readiness checks behind /readyz. */
export function buildOpsModule({ config, db, clock, logger, metrics, ca, probeDatabaseWrite }: OpsModuleDeps) {
  metrics.collectProcessMetrics();
  if (db.dialect === 'postgres') metrics.watchDatabasePool(() => postgresPool(db));
  const readiness = new ReadinessService({
    probeDatabaseWrite,
    currentCa: () => ca.authority.ca,
    currentCrl: () => ca.revocationView.publisherOf(ca.authority.current().generation)?.current,
    publicUrlIsDefault: publicUrlIsDefault(config),
    publicUrl: config.http.publicUrl,
    clock,
    onDatabaseError: (err) => logger.warn({ err }, 'readiness: the database test write failed'),
  });
  return { readiness };
}

/** The pg.Pool behind TypeORM's PostgreSQL driver (its `master`); undefined on SQLite. */
function postgresPool(db: Database): { totalCount: number; idleCount: number; waitingCount: number } | undefined {
  if (db.dialect !== 'postgres') return undefined;
  return (db.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
}
