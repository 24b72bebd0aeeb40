import cluster, { Worker } from 'node:cluster';
import type { Config } from './config/config';
import { buildApp } from './main';

/**
 * SCEPTER_WORKERS > 1: this process prepares what must exist once (database migrations, CA, OCSP
 * signer, HTTPS certificate), then forks that many workers which share the HTTP and HTTPS ports
 * (node:cluster hands out connections round robin). Each worker keeps its own in-memory state and
 * polls the database for changes, as separate instances on one database do. A worker that dies is
 * replaced; SIGTERM/SIGINT stop the workers gracefully (they write their batched logs) and then this.
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const prepared = await buildApp(config);
  const created = prepared.services.caCreated;
  await prepared.close();
  if (created) process.stdout.write(`Created a new CA in ${config.certsDir}\n`);
  let stopping = false;
  const fork = (): Worker => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(0);
      return;
    }
    process.stderr.write(`scepter: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    setTimeout(fork, 1000).unref();
  });
  const stop = () => {
    stopping = true;
    const live = Object.values(cluster.workers ?? {});
    if (!live.length) process.exit(0);
    for (const w of live) w?.process.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for (let i = 0; i < workers; i++) fork();
}
