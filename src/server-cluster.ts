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
  let quickDeaths = 0;
  const started = new Map<number, number>();
  const fork = (): Worker => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
    return w;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(process.exitCode ?? 0);
      return;
    }
    // a worker that cannot even start (bad configuration, port taken) would otherwise loop forever
    quickDeaths = Date.now() - (started.get(worker.id) ?? 0) < 10_000 ? quickDeaths + 1 : 0;
    if (quickDeaths >= 3) {
      process.stderr.write('scepter: workers keep dying at start; stopping\n');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(1);
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
