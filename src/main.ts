import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Config } from './config/config';
import { createLogger, Logger } from './shared/logger';
import { Clock, systemClock } from './shared/clock';
import { Database } from './db/database';
import { ScepStoreRepository } from './db/scep-store.repository';
import { loadOrCreateCa } from './ca/ca-material';
import { CertificateAuthority } from './ca/certificate-authority';
import { RsaKeyTransport } from './pki/rsa-key-transport';
import { ScepService } from './scep/scep.service';
import { ScepEndpoint } from './scep/scep-ports';
import { DefaultEnrollmentPolicy } from './scep/default-enrollment.policy';
import { StaticChallengeVerifier } from './challenge/static-challenge.verifier';
import { createHttpApp } from './http/app';
import { scepRouter } from './http/scep.router';

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
}

export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Database;
  authority: CertificateAuthority;
  scep: ScepService;
  caCreated: boolean;
}

/** Database, CA and domain services: what the server, the CLI and the tests share. */
export async function buildServices(config: Config, opts: BuildOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const db = await Database.open(config.databaseUrl);
  try {
    const material = await loadOrCreateCa({ dir: config.certsDir, ...config.ca });
    const authority = new CertificateAuthority(material, clock);
    const scep = new ScepService(authority, new ScepStoreRepository(db), new RsaKeyTransport(randomBytes(32)), clock);
    return { config, logger, clock, db, authority, scep, caCreated: material.created };
  } catch (err) {
    await db.close();
    throw err;
  }
}

export interface App {
  services: Services;
  server: http.Server;
  /** listens on the configured port (0 = any free port); resolves to the bound port */
  listen(): Promise<number>;
  close(): Promise<void>;
}

/** The composition root: builds every service and the HTTP server. */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const services = await buildServices(config, opts);
  const { logger, scep } = services;
  const defaultEndpoint: ScepEndpoint | undefined = config.staticChallenge
    ? { id: 'default', verifier: new StaticChallengeVerifier(config.staticChallenge), policy: new DefaultEnrollmentPolicy(config.certValidityDays) }
    : undefined;
  const koa = createHttpApp(logger, [scepRouter({ scep, logger, maxBodyBytes: config.http.maxBodyBytes, defaultEndpoint })]);
  const server = http.createServer(koa.callback());
  // slow clients and header floods are cut off by Node's own limits
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;

  return {
    services,
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await services.db.close();
    },
  };
}
