import { Config } from './config/config';
import { createLogger, Logger } from './shared/logger';
import { Clock, systemClock } from './shared/clock';
import { Metrics } from './shared/metrics';
import type { BuildContext } from './shared/build-context';
import { Database } from './db/database';
import { buildCaModule, type CaModule } from './ca/ca.module';
import { buildChallengeModule, type ChallengeModule } from './challenge/challenge.module';
import { buildAdminModule, type AdminModule } from './admin/admin.module';
import { buildTrustModule, type TrustModule } from './trust/trust.module';
import { buildIntegrationsModule, type IntegrationsModule } from './integrations/integrations.module';
import { buildScepModule, type ScepModule } from './scep/scep.module';
import { buildMdmModule, type MdmModule } from './mdm/mdm.module';
import { buildListsModule, type ListsModule } from './lists/lists.module';
import { buildJobsModule, type JobsModule } from './jobs/jobs.module';
import { buildMigrationModule, type MigrationModule } from './migration/migration.module';
import { buildOpsModule } from './ops/ops.module';
import { buildHttpModule, type App } from './http/http.module';

export type { App } from './http/http.module';

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
  /** the CLI's `scepter init` and `scepter ca generate-keys`: missing keys may be generated inside a PKCS#11 token */
  generateTokenKeys?: boolean;
}

/** Every module's parts, on the shared infrastructure: what the server, the CLI and the tests use. */
export type Services = BuildContext &
  CaModule &
  ChallengeModule &
  AdminModule &
  TrustModule &
  IntegrationsModule &
  ScepModule &
  MdmModule &
  ListsModule &
  JobsModule &
  MigrationModule;

/**
 * The composition root: opens the database, then builds each module in dependency order, each
 * from the parts built before it. On failure whatever was opened (key store, database) is closed.
 */
export async function buildServices(config: Config, opts: BuildOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = opts.clock ?? systemClock;
  const db = await Database.open(config.databaseUrl, { poolSize: config.databasePoolSize });
  let ca: CaModule | undefined;
  try {
    const base: BuildContext = { config, logger, clock, db, metrics: new Metrics() };
    ca = await buildCaModule({ ...base, generateTokenKeys: opts.generateTokenKeys });
    const challenge = buildChallengeModule(base);
    const admin = buildAdminModule(base);
    const trust = buildTrustModule(base);
    const integrations = buildIntegrationsModule({ ...base, ca, challenge, audit: admin.audit, deviceTrustRequired: trust.trustPolicy.isDeviceTrustRequired });
    const scep = buildScepModule({ ...base, ca, challenge, integrations: integrations.integrations });
    const mdm = buildMdmModule({ ...base, integrationLookup: integrations.integrationLookup, audit: admin.audit, secretBox: admin.secretBox });
    const lists = buildListsModule(base);
    const jobs = buildJobsModule({ ...base, mdm });
    const migration = buildMigrationModule({ ...base, integrationLookup: integrations.integrationLookup, mdm, trustPolicy: trust.trustPolicy, ca });
    return { ...base, ...ca, ...challenge, ...admin, ...trust, ...integrations, ...scep, ...mdm, ...lists, ...jobs, ...migration };
  } catch (err) {
    await ca?.keys.close();
    await db.close();
    throw err;
  }
}

/** The server: the services, the device-trust login check, readiness, and the HTTP listeners. */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const services = await buildServices(config, opts);
  try {
    const loginCheck = await services.loginCheck({ ...services, ca: services });
    const ops = buildOpsModule({ ...services, ca: services });
    return await buildHttpModule(services, loginCheck, ops);
  } catch (err) {
    // e.g. an unusable SCEPTER_TLS_CERT: fail without leaving the database open
    await services.keys.close();
    await services.db.close();
    throw err;
  }
}
