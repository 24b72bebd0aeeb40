import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Config, publicUrlIsDefault } from './config/config';
import { createLogger, Logger } from './shared/logger';
import { Clock, systemClock } from './shared/clock';
import { Database } from './db/database';
import { ScepStoreRepository } from './db/scep-store.repository';
import { loadOrCreateCa } from './ca/ca-material';
import { CertificateAuthority } from './ca/certificate-authority';
import { RsaKeyTransport } from './pki/rsa-key-transport';
import { openKeyStore, type KeyStore } from './ca/key-store';
import { ScepService } from './scep/scep.service';
import { ScepEndpoint } from './scep/scep.ports';
import { DefaultEnrollmentPolicy } from './scep/default-enrollment.policy';
import { templateSubjectRules } from './scep/subject-policy';
import { StaticChallengeVerifier } from './challenge/static-challenge.verifier';
import { createHttpApp } from './http/app';
import { scepRouter } from './http/scep.routes';
import { IntegrationRepository } from './db/integration.repository';
import { ChallengeRepository } from './db/challenge.repository';
import { AdminRepository } from './db/admin.repository';
import { IntegrationService } from './integrations/integration.service';
import { UserGroupService } from './integrations/user-groups.service';
import { IosProfileService } from './integrations/ios-profile.service';
import { IosCertsEnrollmentPolicy } from './integrations/ios-certs-enrollment.policy';
import { SubjectTemplate } from './integrations/subject-template';
import { ChallengeService } from './challenge/challenge.service';
import { DynamicChallengeVerifier } from './challenge/dynamic-challenge.verifier';
import { DeviceIdRule } from './challenge/device-id-rule';
import type { ChallengeStore } from './challenge/challenge.ports';
import { ApiKeyService } from './admin/api-keys.service';
import { AuditLogService } from './admin/audit-log.service';
import { AuthFailureLimiter } from './admin/auth-failure-limiter';
import { challengeRouter } from './http/challenge.routes';
import { adminRouter } from './http/admin/admin.routes';
import { AdminRoute, adminRoutes } from './http/admin/admin-auth';
import { clientAddressOf, type ClientAddressOf } from './http/client-address';
import { bulkRevocation, RevocationRepository } from './db/revocation.repository';
import { bindBulkRevocation, RevocationService } from './ca/revocation.service';
import { CrlPublisher } from './ca/crl-publisher';
import { RevocationView } from './ca/revocation-view';
import { OcspResponder } from './ca/ocsp-responder';
import { loadOrCreateOcspSigner } from './ca/ocsp-signer-material';
import { CaRolloverService } from './ca/ca-rollover.service';
import { CaGeneration, generationPrefix } from './ca/ca-generation';
import { LastExpiry } from './ca/last-expiry';
import { CaGenerationRepository } from './db/ca-generation.repository';
import { IntegrationDeletion } from './ca/integration-deletion.service';
import { crlPathOf, OCSP_PATH, revocationRouter } from './http/revocation.routes';
import { registerCertificateRoutes } from './http/admin/certificates.routes';
import { SecretBox, loadOrCreateSecretKey } from './shared/secret-box';
import { InventoryRepository } from './db/inventory.repository';
import { InventoryLeaseRepository } from './db/inventory-lease.repository';
import { InventorySettingsRepository } from './db/inventory-settings.repository';
import { IntegrationFinder, Ws1SettingsService } from './mdm/workspace-one/ws1-settings.service';
import { Ws1SyncService } from './mdm/workspace-one/ws1-sync.service';
import { AppConfigService } from './mdm/workspace-one/app-config.service';
import type { InventoryReader } from './mdm/workspace-one/ws1-integration.ports';
import { Ws1SyncScheduler } from './jobs/ws1-sync.job';
import { parseDailyTime } from './jobs/daily-slot';
import https from 'node:https';
import { TrustRepository } from './db/trust.repository';
import { AuthLogRepository } from './db/auth-log.repository';
import { TrustPolicyService } from './trust/policy.service';
import { AuthLogService } from './trust/auth-log.service';
import { AuthLogWriter } from './trust/auth-log-writer';
import { LastSeenTracker } from './trust/last-seen-tracker';
import { TrustSnapshot } from './trust/trust-snapshot';
import { CertificateCheck } from './trust/certificate-check';
import { TrustEvaluator } from './trust/trust-evaluator';
import { DeviceTrustService } from './trust/device-trust.service';
import { TrustedProxies } from './trust/trusted-proxies';
import type { IntegrationDirectory, RevocationCheck } from './trust/trust.ports';
import { trustRouter } from './http/trust.routes';
import { addTrustAdminRoutes } from './http/admin/trust.routes';
import { createTlsServer, loadOrCreateTlsIdentity, secureContextOptions } from './http/tls-server';
import { pemEncode } from './pki/der';
import { MigrationRepository } from './db/migration.repository';
import { MigrationService } from './migration/migration.service';
import { ws1LiveInventory } from './migration/ws1-live-inventory';
import { crashPointFromEnv } from './migration/crash-point';
import { adminPathsOnly, withoutAdminPaths } from './http/admin-listener';
import { Metrics } from './shared/metrics';
import { metricsMiddleware } from './http/metrics.middleware';
import { opsRouter } from './http/ops.routes';
import { ReadinessService } from './ops/readiness.service';
import { JobLeaseRepository } from './db/job-lease.repository';
import { RetentionRepository } from './db/retention.repository';
import { RetentionJob } from './jobs/retention.job';
import { ListRepository } from './db/list.repository';
import { ListService } from './lists/list.service';
import { registerListRoutes } from './http/admin/lists.routes';
import { registerAdminEditRoutes } from './http/admin/admin-edits.routes';
import { registerMigrationRoutes } from './http/admin/migration.routes';
import { registerOpenApiRoute } from './http/admin/openapi.routes';
import type Router from '@koa/router';
import { AdminUserService } from './admin/admin-users.service';
import { ConsoleSessions } from './admin/console-sessions.service';
import { AdminUserRepository } from './db/admin-user.repository';
import { ConsoleStatsRepository } from './db/console-stats.repository';
import { ConsoleStats } from './lists/console-stats.service';
import { consoleHeaders, consoleRouter } from './http/console/console.router';
import { SyncProgressBoard } from './http/console/sync-progress';

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
  /** the CLI's `scepter init` and `scepter ca generate-keys`: missing keys may be generated inside a PKCS#11 token */
  generateTokenKeys?: boolean;
}

export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Database;
  authority: CertificateAuthority;
  /** where the CA and RA keys live; close() releases its threads or token sessions */
  keys: KeyStore;
  /** CA generations: rollover, loading generations made elsewhere, RA renewal */
  caGenerations: CaRolloverService;
  /** starts publishing the CRL and answering OCSP for a generation added after start */
  publishGeneration(g: CaGeneration): Promise<void>;
  scep: ScepService;
  caCreated: boolean;
  integrations: IntegrationService;
  groups: UserGroupService;
  challenges: ChallengeService;
  challengeStore: ChallengeStore;
  profiles: IosProfileService;
  apiKeys: ApiKeyService;
  audit: AuditLogService;
  revocation: RevocationService;
  revocationView: RevocationView;
  integrationDeletion: IntegrationDeletion;
  ocsp: OcspResponder;
  // WS1 API settings, device sync and inventory, App Config keys
  ws1Settings: Ws1SettingsService;
  ws1Sync: Ws1SyncService;
  appConfig: AppConfigService;
  inventory: InventoryReader;
  // device-trust policy, authentication log
  trustPolicy: TrustPolicyService;
  authLog: AuthLogService;
  /** Prometheus metrics of this app (a registry of its own) */
  metrics: Metrics;
  /** pruning of the auth log, audit log and finished SCEP transactions by age */
  retention: RetentionJob;
  // certificate, device and WS1 inventory lists and exports
  lists: ListService;
  /** the people who sign in to the web console */
  adminUsers: AdminUserService;
}

/** Database, CA and domain services: what the server, the CLI and the tests share. */
export async function buildServices(config: Config, opts: BuildOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = opts.clock ?? systemClock;
  const db = await Database.open(config.databaseUrl, { poolSize: config.databasePoolSize });
  let keys: KeyStore | undefined;
  try {
    keys = openKeyStore(config, { generate: opts.generateTokenKeys });
    const material = await loadOrCreateCa({ dir: config.certsDir, keys, ...config.ca });
    const caGenerations = new CaRolloverService(new CaGenerationRepository(db), clock, { dir: config.certsDir, keys, ...config.ca });
    const authority = new CertificateAuthority(await caGenerations.load(material), clock, {
      crlUrl: (generation) => `${config.http.publicUrl}${crlPathOf(generation)}`,
      ocspUrl: `${config.http.publicUrl}${OCSP_PATH}`,
    });
    const { addGeneration: publishGeneration, ...revocationParts } = await buildRevocation(config, db, authority, clock, logger);
    const scep = new ScepService(
      authority,
      new ScepStoreRepository(db),
      new RsaKeyTransport(randomBytes(32)),
      clock,
      async (issuerDer) => (await revocationParts.revocationView.crl(authority.byIssuer(issuerDer)?.generation ?? authority.current().generation)).der,
    );
    const integrationRepo = new IntegrationRepository(db);
    const adminRepo = new AdminRepository(db);
    const challengeStore = new ChallengeRepository(db);
    const integrations = new IntegrationService(integrationRepo, integrationRepo, clock, config.http.publicUrl);
    const challenges = new ChallengeService(challengeStore, config.challenge, clock);
    const deviceIds = new DeviceIdRule(config.deviceIdPattern);
    const audit = new AuditLogService(adminRepo, clock);
    const metrics = new Metrics();
    const profiles = new IosProfileService({
      integrations,
      mintChallenge: (id, deviceId) => challenges.mint(id, deviceId),
      deviceIds,
      // the CA devices enroll with now: after a rollover's activation, the new one
      caFingerprintSha1: () => authority.caCertificate.fingerprintSha1,
      publicUrl: config.http.publicUrl,
      audit: (actor, action, target, details) => audit.record(actor, action, target, details),
    });
    const groups = new UserGroupService(integrationRepo, clock);
    const apiKeys = new ApiKeyService(adminRepo, clock);
    // secrets at rest (WS1 secrets, console TOTP secrets): the key is read when first needed
    let box: SecretBox | undefined;
    const secretBox = () => (box ??= new SecretBox(loadOrCreateSecretKey(config.secretKey, config.certsDir)));
    const trustServices = buildTrustServices(db, clock);
    // deleting an integration revokes its certificates (asks the trust policy first)
    const { revocation, revocationView } = revocationParts;
    const integrationDeletion = new IntegrationDeletion(
      integrations,
      revocation,
      trustServices.trustPolicy.isDeviceTrustRequired,
      () => revocationView.sync().then(() => revocationView.publisher.current),
      clock,
    );
    return {
      config,
      logger,
      clock,
      db,
      authority,
      keys,
      caGenerations,
      publishGeneration,
      scep,
      caCreated: material.created,
      integrations,
      groups,
      challenges,
      challengeStore,
      profiles,
      apiKeys,
      audit,
      ...revocationParts,
      integrationDeletion,
      ...buildWs1(config, db, integrationRepo, clock, logger, audit, metrics, secretBox),
      ...trustServices,
      metrics,
      retention: buildRetention(config, db, clock, logger, metrics),
      lists: new ListService(new ListRepository(db), clock),
      adminUsers: new AdminUserService(new AdminUserRepository(db), secretBox, clock),
    };
  } catch (err) {
    await keys?.close();
    await db.close();
    throw err;
  }
}

export interface App {
  services: Services;
  /** every admin API route with the permission it declares */
  adminRoutes: AdminRoute[];
  server: http.Server;
  /** the HTTPS listener for device-trust checks (SCEPTER_TLS_PORT), serving the same routes */
  tlsServer: https.Server;
  /** its bound port, once listen() resolved */
  tlsPort(): number;
  /** the admin listener (SCEPTER_ADMIN_PORT), undefined when the admin API is on the public port */
  adminServer?: http.Server;
  /** its bound port, once listen() resolved */
  adminPort(): number | undefined;
  /** device-trust runtime: flush() writes the batched log and last-seen times now; refresh() reloads integrations and policies now */
  trust: { flush(): Promise<unknown>; refresh(): Promise<void> };
  /** listens on the configured ports (0 = any free port); resolves to the bound HTTP port */
  listen(): Promise<number>;
  close(): Promise<void>;
}

/** The composition root: builds every service and the HTTP server. */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const services = await buildServices(config, opts);
  const { logger, scep } = services;
  const defaultEndpoint: ScepEndpoint | undefined = config.staticChallenge
    ? {
        id: 'default',
        verifier: new StaticChallengeVerifier(config.staticChallenge),
        policy: new DefaultEnrollmentPolicy(config.certValidityDays, config.renewalWindowDays),
      }
    : undefined;
  // per-integration SCEP endpoints (ios-certs): whatever the status; deleted or unknown -> 404
  const endpointById = async (id: string): Promise<ScepEndpoint | undefined> => {
    const i = await services.integrations.findEnrollmentTarget(id);
    if (!i) return undefined;
    const template = SubjectTemplate.parse(i.subjectTemplate);
    const policy = new IosCertsEnrollmentPolicy(template, config.certValidityDays);
    const subjectRules = templateSubjectRules(
      template.attributes.map((a) => a.type),
      template.text,
    );
    return { id: i.id, integrationId: i.id, verifier: new DynamicChallengeVerifier(i.id, services.challengeStore, services.clock), policy, subjectRules };
  };
  // in-memory cool-downs for failed Basic (challenge URL) and Bearer (admin API) attempts, one per
  // entry point, keyed by the real client address (through the trusted proxies) and by credential
  const proxies = new TrustedProxies(config.trust.trustedProxies);
  const clientAddress = clientAddressOf(proxies);
  const challengeLimiter = new AuthFailureLimiter(config.auth, services.clock);
  const adminLimiter = new AuthFailureLimiter(config.auth, services.clock);
  // e.g. an unusable SCEPTER_TLS_CERT: fail without leaving the database open
  const trust = await buildTrust(config, services, proxies).catch(async (err) => {
    await services.keys.close();
    await services.db.close();
    throw err;
  });
  // /certificates and device revocation are on the same admin router, behind the same API-key auth;
  // every admin route declares its permission (checked here, listed as App.adminRoutes)
  const adminApi = buildAdminRouter(services, adminLimiter, clientAddress);
  const consoleStats = new ConsoleStats(new ConsoleStatsRepository(services.db), services.clock, config.console.statsMaxAgeMs, (err) =>
    logger.error({ err }, 'console: counting certificates'),
  );
  const webConsole = consoleRouter({
    ...services,
    sessions: new ConsoleSessions(new AdminUserRepository(services.db), services.clock),
    limiter: new AuthFailureLimiter(config.auth, services.clock),
    clientAddress,
    migration: () => buildMigration(services),
    stats: consoleStats,
    syncProgress: new SyncProgressBoard(),
    reportDir: config.console.reportDir,
  });
  const routeTable = adminRoutes(adminApi);
  const { metrics } = services;
  metrics.collectProcessMetrics();
  if (services.db.dialect === 'postgres') metrics.watchDatabasePool(() => postgresPool(services.db));
  const readiness = new ReadinessService({
    probeDatabaseWrite: () => new JobLeaseRepository(services.db).probeWrite(),
    currentCa: () => services.authority.ca,
    currentCrl: () => services.revocationView.publisherOf(services.authority.current().generation)?.current,
    publicUrlIsDefault: publicUrlIsDefault(config),
    publicUrl: config.http.publicUrl,
    clock: services.clock,
    onDatabaseError: (err) => logger.warn({ err }, 'readiness: the database test write failed'),
  });
  const koa = createHttpApp(
    logger,
    [
      // first: the login-time check is the hottest path, and each router ahead of it costs a match
      trust.router,
      scepRouter({ scep, logger, maxBodyBytes: config.http.maxBodyBytes, defaultEndpoint, endpointById }),
      challengeRouter({
        integrations: services.integrations,
        challenges: services.challenges,
        deviceIds: new DeviceIdRule(config.deviceIdPattern),
        limiter: challengeLimiter,
        clientAddress,
        caThumbprint: () => services.authority.caCertificate.fingerprintSha1.toString('hex').toUpperCase(),
        logger,
      }),
      adminApi,
      webConsole,
      revocationRouter({ view: services.revocationView, ocsp: services.ocsp, logger, currentGeneration: () => services.authority.current().generation }),
      // /metrics and /readyz last: scrapes and probes are rare next to SCEP and trust traffic
      opsRouter({ metrics, readiness }),
    ],
    [metricsMiddleware(metrics), consoleHeaders(config.console.secureCookies)],
  );
  // first sync publishes a CRL if none exists; then the view polls the database every 500 ms
  await services.revocationView.start();
  await trust.start();
  // nightly WS1 device sync (server only, not the CLI); the sync lease makes it run once across instances
  const ws1Scheduler = config.ws1.syncTime
    ? new Ws1SyncScheduler(
        { listConfigured: () => services.ws1Settings.listConfigured(), sync: (id, o) => services.ws1Sync.sync(id, o) },
        { time: parseDailyTime(config.ws1.syncTime), spreadMinutes: config.ws1.spreadMinutes, clock: services.clock, logger },
      )
    : undefined;
  ws1Scheduler?.start();
  // retention pruning: every instance looks, the job lease lets one of them run it
  services.retention.start();
  // Node checks header/request timeouts only every connectionsCheckingInterval (30 s default)
  // Koa's callback settles its own promise (errors go to its error handler), so listeners drop it
  const koaCallback = koa.callback();
  const appHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => void koaCallback(req, res);
  // with a separate admin listener, the public listeners answer 404 under /admin
  const publicHandler = config.admin ? withoutAdminPaths(appHandler) : appHandler;
  const server = http.createServer({ connectionsCheckingInterval: Math.min(30_000, config.http.headersTimeoutMs) }, publicHandler);
  // slow clients and header floods are cut off by Node's own limits
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  // client certificates of every CA generation are accepted (the one in use and the ones before it)
  const trustedCas = () => services.authority.all.map((g) => pemEncode('CERTIFICATE', g.material.ca.certificate.der)).join('');
  const tlsServer = createTlsServer(trust.identity, trustedCas(), publicHandler);
  const generationWatch = watchCaGenerations(services, () => tlsServer.setSecureContext(secureContextOptions(trust.identity, trustedCas())));
  const adminServer = config.admin
    ? http.createServer({ connectionsCheckingInterval: Math.min(30_000, config.http.headersTimeoutMs) }, adminPathsOnly(appHandler))
    : undefined;
  if (adminServer)
    Object.assign(adminServer, {
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      keepAliveTimeout: server.keepAliveTimeout,
      maxHeadersCount: server.maxHeadersCount,
    });

  return {
    services,
    adminRoutes: routeTable,
    server,
    tlsServer,
    tlsPort: () => (tlsServer.address() as AddressInfo).port,
    adminServer,
    adminPort: () => (adminServer?.address() as AddressInfo | null | undefined)?.port,
    trust,
    listen: async () => {
      const bind = (srv: http.Server, port: number, host = config.http.host) =>
        new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(port, host, () => resolve((srv.address() as AddressInfo).port));
        });
      const port = await bind(server, config.http.port);
      await bind(tlsServer, config.tls.port);
      if (adminServer) await bind(adminServer, config.admin!.port, config.admin!.host);
      return port;
    },
    close: async () => {
      generationWatch.stop();
      await services.revocationView.stop();
      await ws1Scheduler?.stop();
      await services.retention.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await new Promise<void>((resolve) => {
        tlsServer.close(() => resolve());
        tlsServer.closeAllConnections();
      });
      if (adminServer?.listening) {
        await new Promise<void>((resolve) => {
          adminServer.close(() => resolve());
          adminServer.closeAllConnections();
        });
      }
      // the batched authentication log and last-seen times are written before the database closes
      await trust.stop();
      await services.keys.close(); // RSA worker threads or token sessions
      await services.db.close();
    },
  };
}

/**
 * The admin API under `/admin/v1`: every admin route file on one router behind its API-key
 * authentication (exported so tests can enumerate its routes against the OpenAPI document).
 */
export function buildAdminRouter(services: Services, limiter: AuthFailureLimiter, clientAddress: ClientAddressOf): Router {
  return registerOpenApiRoute(
    registerMigrationRoutes(
      registerAdminEditRoutes(
        registerListRoutes(registerCertificateRoutes(addTrustAdminRoutes(adminRouter({ ...services, limiter, clientAddress }), services), services), services),
        services,
      ),
      { migration: () => buildMigration(services) },
    ),
  );
}

/**
 * Revocation service, the in-memory revocation view with one CRL publisher per CA
 * generation, and the OCSP responder answering for every generation.
 */
async function buildRevocation(config: Config, db: Database, authority: CertificateAuthority, clock: Clock, logger: Logger) {
  bindBulkRevocation(bulkRevocation);
  const store = new RevocationRepository(db);
  const onError = (err: unknown) => logger.error({ err }, 'revocation state');
  const lastExpiry = new LastExpiry(new CaGenerationRepository(db), clock, onError);
  const revocationView = new RevocationView(store, [], clock, {
    pollMs: 500,
    // an older generation publishes its CRL until the last certificate it issued has expired
    publishes: (generation, now) => generation >= authority.current(now).generation || lastExpiry.covers(generation, now),
    onError,
  });
  let ocsp: OcspResponder | undefined;
  const addGeneration = async (g: CaGeneration) => {
    const ca = g.material.ca;
    const signerOptions = {
      dir: config.certsDir,
      prefix: generationPrefix(g.generation),
      passphrase: config.ca.passphrase,
      commonName: /CN=([^,]+)/.exec(ca.certificate.subject)?.[1] ?? config.ca.commonName,
      validityDays: 30,
      keyType: config.ocspKeyType,
      renewBeforeDays: config.ocspRenewBeforeDays,
    };
    const signer = config.ocspDelegated ? await loadOrCreateOcspSigner(ca, signerOptions, clock.now()) : ca;
    const extra = [g.material.raSigning, g.material.raEncryption, ...(g.material.previousRaEncryption ?? []), ...(config.ocspDelegated ? [signer] : [])];
    revocationView.addPublisher(
      new CrlPublisher(store, ca, clock, config.crlValidityHours * 3_600_000, g.generation),
      extra.flatMap((i) => (i ? [i.certificate.serialHex] : [])),
    );
    const issuer = {
      generation: g.generation,
      ca,
      signer,
      delegated: config.ocspDelegated,
      renewSigner: config.ocspDelegated ? (now: Date) => loadOrCreateOcspSigner(ca, signerOptions, now) : undefined,
    };
    if (!ocsp)
      ocsp = new OcspResponder(ca, revocationView, clock, {
        ...issuer,
        maxStaleMs: 60_000,
        maxRequests: 20,
        presignedMaxAgeMs: 60_000,
        renewBeforeMs: config.ocspRenewBeforeDays * 86_400_000,
        onRenewed: (generation, s) => revocationView.addIssued(s.certificate.serialHex, generation),
        onError: (err) => logger.error({ err }, 'ocsp responder'),
      });
    else ocsp.addIssuer(issuer);
  };
  for (const g of authority.all) await addGeneration(g);
  // after each committed revocation in this process: republish and refresh now, not at the next poll
  const revocation = new RevocationService(store, clock, () => revocationView.sync().catch(onError));
  return { revocation, revocationView, ocsp: ocsp!, addGeneration };
}

/** WS1 settings (secrets under SecretBox), inventory, sync lease and App Config keys. */
function buildWs1(
  config: Config,
  db: Database,
  integrations: IntegrationFinder,
  clock: Clock,
  logger: Logger,
  audit: AuditLogService,
  metrics: Metrics,
  secretBox: () => SecretBox,
) {
  const inventory = new InventoryRepository(db);
  const settingsStore = new InventorySettingsRepository(db);
  const ws1Settings = new Ws1SettingsService(integrations, settingsStore, secretBox, clock, config.ws1.timeoutMs, { allowHttp: config.ws1.allowHttp });
  const ws1Sync = new Ws1SyncService({
    settings: ws1Settings,
    leases: new InventoryLeaseRepository(db, inventory),
    inventory,
    clock,
    logger,
    audit: (actor, action, target, details) => audit.record(actor, action, target, details),
    onOutcome: (o) => metrics.recordWs1Sync(o),
  });
  return { ws1Settings, ws1Sync, appConfig: new AppConfigService(integrations, settingsStore, clock), inventory };
}

/** The policy and the authentication log (server and CLI). */
function buildTrustServices(db: Database, clock: Clock) {
  const repo = new TrustRepository(db);
  return { trustPolicy: new TrustPolicyService(repo, clock), authLog: new AuthLogService(new AuthLogRepository(db), repo, clock) };
}

/** The login-time check (server only): HTTPS identity, in-memory state, batched writers. */
async function buildTrust(config: Config, s: Services, proxies: TrustedProxies) {
  const repo = new TrustRepository(s.db);
  const integrationRepo = new IntegrationRepository(s.db);
  const logError = (what: string) => (err: unknown) => s.logger.error({ err }, what);
  const directory: IntegrationDirectory = {
    listIntegrations: async () =>
      (await integrationRepo.listIntegrations()).map((i) => ({
        id: i.id,
        type: i.type,
        status: i.status,
        groupName: i.groupName,
        deleted: i.deletedAt !== null,
      })),
    isMember: (group, user) => integrationRepo.isMember(group, user),
    integrationForConfigurationKey: (key) => s.appConfig.integrationForKey(key),
  };
  // the view keeps every revoked serial in memory and polls the database every 500 ms
  const revocation: RevocationCheck = {
    revocationOf: async (serial) => {
      const { status } = await s.revocationView.status(serial);
      return typeof status === 'object' ? status : null;
    },
  };
  const snapshot = new TrustSnapshot(directory, repo, s.clock, {
    pollMs: config.trust.pollMs,
    onError: logError('device trust: reloading integrations and policies'),
  });
  const evaluator = new TrustEvaluator(
    new CertificateCheck(() => s.authority.all.map((g) => g.material.ca.certificate.der)),
    repo,
    revocation,
    snapshot,
    s.inventory,
    directory,
  );
  const authLog = new AuthLogWriter(new AuthLogRepository(s.db), {
    flushMs: 100,
    maxBatch: 500,
    maxBuffered: 100_000,
    onError: (err, dropped) => s.logger.error({ err, dropped }, 'authentication log'),
  });
  const lastSeen = new LastSeenTracker(repo, 1000, logError('certificate last seen'));
  const service = new DeviceTrustService(evaluator, snapshot, authLog, lastSeen, s.clock);
  const publicHost = new URL(config.http.publicUrl).hostname.replace(/^\[|\]$/g, '');
  const identity = await loadOrCreateTlsIdentity(s.authority.ca, {
    certsDir: config.certsDir,
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    hosts: [publicHost],
    now: s.clock.now(),
  });
  return {
    identity,
    router: trustRouter({ trust: service, proxies, certificateHeader: config.trust.clientCertHeader, logger: s.logger }),
    start: () => snapshot.start(),
    flush: () => Promise.all([authLog.flush(), lastSeen.flush()]),
    // integrations and revocations are polled separately: refresh both so a deletion and its revocations appear together
    refresh: () => Promise.all([snapshot.refresh(), s.revocationView.sync()]).then(() => undefined),
    stop: async () => {
      snapshot.stop();
      await Promise.all([authLog.close(), lastSeen.flush()]);
    },
  };
}

/** The legacy iOS certificate -> App Config migration (CLI), on the shared services. */
export function buildMigration(s: Services): MigrationService {
  const settingsStore = new InventorySettingsRepository(s.db);
  return new MigrationService({
    store: new MigrationRepository(s.db),
    clock: s.clock,
    integrations: new IntegrationRepository(s.db),
    ws1: {
      clientSettings: (id) => s.ws1Settings.clientSettings(id),
      hasSettings: async (id) => Boolean(await settingsStore.find(id)),
      seal: (id, input, now) => s.ws1Settings.seal(id, input, now),
      test: (id) => s.ws1Settings.test(id),
      // without a nightly slot the sync answers or throws (busy), never undefined
      sync: async (id, onProgress, actor) => (await s.ws1Sync.sync(id, { onProgress, actor }))!,
    },
    appConfig: async (id) => (await s.appConfig.forIntegration(id))!,
    live: ws1LiveInventory(),
    deviceTrustRequired: () => s.trustPolicy.isDeviceTrustRequired(),
    republish: () => s.revocationView.sync(),
    crashPoint: crashPointFromEnv(),
  });
}

/** The pg.Pool behind TypeORM's PostgreSQL driver (its `master`); undefined on SQLite. */
function postgresPool(db: Database): { totalCount: number; idleCount: number; waitingCount: number } | undefined {
  if (db.dialect !== 'postgres') return undefined;
  return (db.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
}

/** Retention pruning (server: periodic; CLI: `scepter retention run`). */
function buildRetention(config: Config, db: Database, clock: Clock, logger: Logger, metrics: Metrics): RetentionJob {
  return new RetentionJob(new RetentionRepository(db), new JobLeaseRepository(db), { ...config.retention, clock, logger, metrics });
}

/**
 * Picks up, without a restart, a CA generation another process created (`scepter ca rollover`) or
 * rescheduled, and renews RA pairs that come due (or adopts another instance's renewal); `onCaSetChanged` refreshes what caches the CA set
 * (the TLS listener's list of acceptable client CAs).
 */
function watchCaGenerations(s: Services, onCaSetChanged: () => void): { stop(): void } {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const known = s.authority.all[s.authority.all.length - 1]!.generation;
      const added = await s.caGenerations.loadNewer(known);
      for (const g of added) {
        s.authority.addGeneration(g);
        await s.publishGeneration(g);
        s.logger.info({ generation: g.generation, activateAt: g.activateAt.toISOString() }, 'ca: next CA generation loaded');
      }
      if (added.length) onCaSetChanged();
      for (const [generation, at] of await s.caGenerations.activationTimes()) s.authority.reschedule(generation, at);
      // an RA pair due for renewal, or renewed by another instance: every instance decrypts with the new pair within one poll
      const now = s.clock.now();
      for (const g of s.authority.all) {
        if (!(await s.caGenerations.refreshRa(g, now))) continue;
        s.authority.replaceMaterial(g.generation, g.material);
        for (const id of [g.material.raSigning, g.material.raEncryption]) if (id) s.revocationView.addIssued(id.certificate.serialHex, g.generation);
        s.logger.info({ generation: g.generation, raEncryption: g.material.raEncryption?.certificate.serialHex }, 'ca: RA certificates renewed');
      }
    } catch (err) {
      s.logger.error({ err }, 'ca: checking CA generations');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), s.config.caPollSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
