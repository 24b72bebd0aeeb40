import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import { AuthFailureLimiter } from '../admin/auth-failure-limiter';
import type { Services } from '../main';
import type { ReadinessService } from '../ops/readiness.service';
import { pemEncode } from '../pki/der';
import type { TrustModule } from '../trust/trust.module';
import { TrustedProxies } from '../trust/trusted-proxies';
import { adminPathsOnly, withoutAdminPaths } from './admin-listener';
import { adminRouter } from './admin/admin.routes';
import { AdminRoute, adminRoutes } from './admin/admin-auth';
import { addTrustAdminRoutes } from './admin/trust.routes';
import { registerAdminEditRoutes } from './admin/admin-edits.routes';
import { registerCertificateRoutes } from './admin/certificates.routes';
import { registerListRoutes } from './admin/lists.routes';
import { registerMigrationRoutes } from './admin/migration.routes';
import { registerOpenApiRoute } from './admin/openapi.routes';
import { createHttpApp } from './app';
import { challengeRouter } from './challenge.routes';
import { clientAddressOf, type ClientAddressOf } from './client-address';
import { consoleHeaders, consoleRouter } from './console/console.routes';
import { metricsMiddleware } from './metrics.middleware';
import { opsRouter } from './ops.routes';
import { revocationRouter } from './revocation.routes';
import { scepRouter } from './scep.routes';
import { createTlsServer, loadOrCreateTlsIdentity, secureContextOptions } from './tls-server';
import { TlsIdentityFollower } from './tls-identity-follower';
import { trustRouter } from './trust.routes';

export type LoginCheck = Awaited<ReturnType<TrustModule['loginCheck']>>;

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

/**
 * The HTTP side of the server: every router on one Koa app, the public, TLS (device trust) and
 * admin listeners, and the start and stop of what runs in the background (revocation polling, the
 * trust snapshot, jobs, the CA generation watch).
 */
export async function buildHttpModule(services: Services, trust: LoginCheck, ops: { readiness: ReadinessService }): Promise<App> {
  const { config, logger, scep, metrics } = services;
  // the HTTPS listener's certificate comes from the CA issuing now (reissued after a rollover's
  // activation); loaded first, so an unusable SCEPTER_TLS_CERT stops the start before anything runs
  const publicHost = new URL(config.http.publicUrl).hostname.replace(/^\[|\]$/g, '');
  const tlsIdentityAt = (now: Date) =>
    loadOrCreateTlsIdentity(services.authority.current(now).material.ca, {
      certsDir: config.certsDir,
      certFile: config.tls.certFile,
      keyFile: config.tls.keyFile,
      hosts: [publicHost],
      now,
      knownCas: services.authority.all.map((g) => g.material.ca.certificate),
    });
  const startIdentity = await tlsIdentityAt(services.clock.now());
  // in-memory cool-downs for failed Basic (challenge URL) and Bearer (admin API) attempts, one per
  // entry point, keyed by the real client address (through the trusted proxies) and by credential
  const proxies = new TrustedProxies(config.trust.trustedProxies);
  const clientAddress = clientAddressOf(proxies);
  const challengeLimiter = new AuthFailureLimiter(config.auth, services.clock);
  const adminLimiter = new AuthFailureLimiter(config.auth, services.clock);
  // /certificates and device revocation are on the same admin router, behind the same API-key auth;
  // every admin route declares its permission (checked here, listed as App.adminRoutes)
  const adminApi = buildAdminRouter(services, adminLimiter, clientAddress);
  const webConsole = consoleRouter({
    ...services,
    sessions: services.consoleSessions,
    limiter: new AuthFailureLimiter(config.auth, services.clock),
    clientAddress,
    stats: services.consoleStats,
    statsIntervalSeconds: config.console.statsIntervalMs / 1000,
    reportDir: config.console.reportDir,
  });
  const routeTable = adminRoutes(adminApi);
  const koa = createHttpApp(
    logger,
    [
      // first: the login-time check is the hottest path, and each router ahead of it costs a match
      trustRouter({ trust: trust.service, proxies, certificateHeader: config.trust.clientCertHeader, logger }),
      scepRouter({
        scep,
        logger,
        maxBodyBytes: config.http.maxBodyBytes,
        limiter: new AuthFailureLimiter(config.auth, services.clock),
        clientAddress,
        ...services.scepEndpoints,
      }),
      challengeRouter({
        integrations: services.integrations,
        challenges: services.challenges,
        deviceIds: services.deviceIds,
        limiter: challengeLimiter,
        clientAddress,
        caThumbprint: () => services.authority.caCertificate.fingerprintSha1.toString('hex').toUpperCase(),
        logger,
      }),
      adminApi,
      webConsole,
      revocationRouter({ view: services.revocationView, ocsp: services.ocsp, logger, currentGeneration: () => services.authority.current().generation }),
      // /metrics and /readyz last: scrapes and probes are rare next to SCEP and trust traffic
      opsRouter({ metrics, readiness: ops.readiness }),
    ],
    [metricsMiddleware(metrics), consoleHeaders(config.console.secureCookies)],
  );
  // first sync publishes a CRL if none exists; then the view polls the database every 500 ms
  await services.revocationView.start();
  await trust.start();
  // nightly WS1 device sync (server only, not the CLI) and retention pruning
  services.startJobs();
  // Koa's callback settles its own promise (errors go to its error handler), so listeners drop it
  const koaCallback = koa.callback();
  const appHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => void koaCallback(req, res);
  // with a separate admin listener, the public listeners answer 404 under /admin
  const publicHandler = config.admin ? withoutAdminPaths(appHandler) : appHandler;
  // Node checks header/request timeouts only every connectionsCheckingInterval (30 s default)
  const server = http.createServer({ connectionsCheckingInterval: Math.min(30_000, config.http.headersTimeoutMs) }, publicHandler);
  // slow clients and header floods are cut off by Node's own limits
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  // client certificates of every CA generation are accepted (the one in use and the ones before it)
  const trustedCas = () => services.authority.all.map((g) => pemEncode('CERTIFICATE', g.material.ca.certificate.der)).join('');
  const tlsServer = createTlsServer(startIdentity, trustedCas(), publicHandler);
  // CA rollover: a new generation adds an acceptable client CA; its activation reissues the listener's certificate
  const setTlsContext = () => tlsServer.setSecureContext(secureContextOptions(tlsIdentity.identity, trustedCas()));
  const tlsIdentity = new TlsIdentityFollower(startIdentity, services.authority.current().generation, tlsIdentityAt, setTlsContext);
  const generationWatch = services.watchGenerations(setTlsContext, async (now) => {
    if (await tlsIdentity.follow(services.authority.current(now).generation, now)) logger.info('tls: listener certificate reissued by the CA issuing now');
  });
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
      await services.stopJobs();
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
      { migration: services.migration },
    ),
  );
}
