import cluster from 'node:cluster';
import { loadConfig } from './config/config';
import { runPrimary } from './server-cluster';
import { buildApp } from './main';
import { ConfigError } from './shared/errors';
import { restrictUmask } from './shared/secure-file';

/** `npm start`: configuration from the environment, then the service until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  restrictUmask(); // keys, database files and the data directory are created owner-only
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, config.workers);
  const app = await buildApp(config);
  const port = await app.listen();
  const { authority, logger } = app.services;
  const base = config.http.publicUrl;
  const lines = [
    `Scepter listening on http://${config.http.host}:${port}`,
    app.services.caCreated ? `Created a new CA in ${config.certsDir}` : `Using the CA in ${config.certsDir}`,
    `CA: ${authority.caCertificate.subject}`,
    `CA SHA-256 fingerprint: ${authority.caCertificate.fingerprintSha256.toUpperCase().match(/../g)!.join(':')}`,
    `Device trust (mTLS): https://${config.http.host}:${app.tlsPort()}/v1/device-trust`,
    config.staticChallenge ? `SCEP URL: ${base}/scep` : 'Default SCEP endpoint disabled (set SCEPTER_STATIC_CHALLENGE to enable /scep)',
  ];
  // with SCEPTER_WORKERS, the first worker speaks for all of them
  if (!cluster.isWorker || cluster.worker?.id === 1) process.stdout.write(lines.join('\n') + '\n');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`scepter: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`scepter: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
