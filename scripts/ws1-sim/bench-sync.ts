/**
 * Throwaway measurement: how long a full WS1 sync of one platform takes and how much memory the
 * syncing process needs. The simulator runs in a child process so that the RSS figures are the
 * client's alone. Run: npx tsc -p . && node --expose-gc dist/scripts/ws1-sim/bench-sync.js [devicesPerPlatform]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { syncDevices } from '../../src/mdm/workspace-one/device-sync';
import { InMemoryInventoryStore } from '../../src/mdm/workspace-one/in-memory-inventory-store';
import { Ws1Client } from '../../src/mdm/workspace-one/ws1-client';
import { SIM_DEFAULTS } from './ws1-simulator';

async function startChildSimulator(args: string[]): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(__dirname, 'main.js'), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function run(label: string, simArgs: string[], platform: string): Promise<void> {
  const sim = await startChildSimulator(simArgs);
  const client = new Ws1Client({ baseUrl: sim.url, username: SIM_DEFAULTS.username, password: SIM_DEFAULTS.password, apiKey: SIM_DEFAULTS.tenantCode });
  const store = new InMemoryInventoryStore();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);
  const started = process.hrtime.bigint();
  const r = await syncDevices({ client, platform, store, integrationId: 'bench', onProgress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
  console.log(`${label}: ok=${r.ok} pages=${r.pages} fetched=${r.fetched} managed=${r.ok ? r.managed : '-'} ` +
    `wall=${(ms / 1000).toFixed(2)} s (${Math.round(r.fetched / (ms / 1000))} devices/s) ` +
    `rss before=${mb(rssBefore)} MB peak=${mb(peakRss)} MB (+${mb(peakRss - rssBefore)} MB) heapUsed after=${mb(process.memoryUsage().heapUsed)} MB`);
  client.close();
  sim.stop();
}

/** One scenario per process, so each RSS figure starts from a clean heap. */
async function main(): Promise<void> {
  const perPlatform = Number(process.argv[2] ?? 25_000);
  await run(`${perPlatform} devices per platform, sync Apple`, ['--devices-per-platform', String(perPlatform)], 'Apple');
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
