import cluster from 'node:cluster';
import { publicUrlIsDefault } from './config/config';
import { loadHomeConfig } from './config/config-file';
import { runPrimary } from './server-cluster';
import { buildApp } from './main';
import { ConfigError } from './shared/errors';
import { restrictUmask } from './shared/secure-file';

/** `npm start`: configuration from the home's config file under the environment, then the service until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  restrictUmask(); // keys, database files and the data directory are created owner-only
  const config = loadHomeConfig();
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, config.workers);
  const app = await buildApp(config);
  const port = await app.listen();
  const { authority, logger } = app.services;
  const base = config.http.publicUrl;
  const lines = [
    `Scepter listening on http://${config.http.host}:${port}`,
    ...(app.adminPort() !== undefined ? [`Admin API on http://${config.admin!.host}:${app.adminPort()}/admin/v1 (not on the public port)`] : []),
    `Home: ${config.home}${config.configFile ? ` (config ${config.configFile})` : ' (no config file)'}`,
    app.services.caCreated ? `Created a new CA in ${config.certsDir}` : `Using the CA in ${config.certsDir}`,
    `CA: ${authority.caCertificate.subject}`,
    `CA SHA-256 fingerprint: ${authority.caCertificate.fingerprintSha256.toUpperCase().match(/../g)!.join(':')}`,
    `Device trust (mTLS): https://${config.http.host}:${app.tlsPort()}/v1/device-trust`,
    config.staticChallenge ? `SCEP URL: ${base}/scep` : 'Default SCEP endpoint disabled (set SCEPTER_STATIC_CHALLENGE to enable /scep)',
  ];
  // with SCEPTER_WORKERS, the first worker speaks for all of them
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    if (publicUrlIsDefault(config)) {
      // written into every certificate's CRL/OCSP URLs, the WS1 paste blocks and iOS profiles: say so loudly
      process.stderr.write(
        `WARN SCEPTER_PUBLIC_URL is not set: devices and WS1 are told ${base}, which they cannot reach; set it (scepter init --public-url, or ${config.configFile ?? `${config.home}/scepter.env`}) before enrolling devices\n`,
      );
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
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
