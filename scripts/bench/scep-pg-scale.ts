/**
 * Enrollment throughput on one PostgreSQL database: one server instance vs two, both behind the same
 * round-robin nginx (so the proxy hop is in both figures). The load is prepared once, untimed, for a
 * CA shared by both setups (same certs directory); each setup gets a fresh database, an untimed
 * warm-up, then the timed run at concurrency C. CPU seconds per component (servers, nginx,
 * PostgreSQL, this load generator) during the timed run show what limits the ratio.
 *
 *   npm run bench:scep-pg -- [--requests N] [--concurrency C] [--warmup W] [--rounds R]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScepClient, CaCertificates } from '../../src/scep/client/scep-client';
import { pooledKeys } from '../../test/support/keys';
import { startPgCluster, PgCluster } from '../../test/support/pg-cluster';
import { TEST_CHALLENGE } from '../../test/support/test-server';
import { runLoad, LoadResult } from './scep-load';

function opt(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
  return n;
}

const TICK = 100; // USER_HZ on Linux
function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime
  } catch {
    return 0; // exited
  }
}
function pidsNamed(comm: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  });
}

/** busy CPU seconds of the whole machine (all processes, ours or not) from /proc/stat */
function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / TICK; // minus idle and iowait
}

interface Run { instances: number; load: LoadResult; cpu: Record<string, number>; machine: number }

async function measure(c: PgCluster, warm: Buffer[], timed: Buffer[], concurrency: number): Promise<Run> {
  const url = `${c.url}/scep?operation=PKIOperation`;
  await runLoad(url, warm, concurrency);
  const groups: Record<string, () => number> = {
    servers: () => c.instances.reduce((s, i) => s + cpuSeconds(i.proc.child.pid!), 0),
    nginx: () => pidsNamed('nginx').reduce((s, p) => s + cpuSeconds(p), 0),
    postgres: () => pidsNamed('postgres').reduce((s, p) => s + cpuSeconds(p), 0),
  };
  const before = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, f()]));
  const machine0 = machineBusySeconds();
  const load = await runLoad(url, timed, concurrency);
  const machine = machineBusySeconds() - machine0;
  const cpu = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, f() - before[k]!]));
  cpu.loadgen = load.clientCpu;
  return { instances: c.instances.length, load, cpu, machine };
}

async function main(): Promise<void> {
  const requests = opt('--requests', 1000);
  const concurrency = opt('--concurrency', 16);
  const warmup = opt('--warmup', 50);
  const rounds = opt('--rounds', 1);
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-pgscale-'));
  const env = { SCEPTER_CERTS_DIR: certs, SCEPTER_LOG_LEVEL: 'warn' };
  try {
    // prepare untimed against the shared CA (the first cluster creates it)
    let cluster = await startPgCluster(1, env);
    let cas: CaCertificates;
    const bodies: Buffer[] = [];
    try {
      const client = new ScepClient(`${cluster.url}/scep`);
      cas = await client.getCaCertificates();
      const keys = await pooledKeys(16);
      for (let i = 0; i < warmup + requests; i++) {
        const r = await client.preparePkcsReq({ cas, key: keys[i % keys.length]!, challenge: TEST_CHALLENGE, transactionId: `pgscale-${i}`, subject: [{ type: 'CN', value: `pgscale-${i}` }] });
        bodies.push(r.der);
      }
    } finally {
      await cluster.stop();
    }
    const warm = bodies.slice(0, warmup);
    const timed = bodies.slice(warmup);
    console.log(`cores ${os.cpus().length}; ${requests} timed enrollments (+${warmup} warm-up) at concurrency ${concurrency}, each setup on a fresh PostgreSQL database behind nginx`);
    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const n of [1, 2]) {
        cluster = await startPgCluster(n, env);
        try {
          const r = await measure(cluster, warm, timed, concurrency);
          runs.push(r);
          const cpu = Object.entries(r.cpu).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ');
          const busy = Object.values(r.cpu).reduce((a, b) => a + b, 0) / r.load.seconds; // cores kept busy by these components
          console.log(`round ${round + 1}, ${n} instance(s): ${r.load.perSecond.toFixed(1)} enrollments/s in ${r.load.seconds.toFixed(1)} s, p50 ${r.load.p50.toFixed(0)} ms, p99 ${r.load.p99.toFixed(0)} ms, failures ${r.load.failures}${r.load.failures ? ` ${JSON.stringify(r.load.failureKinds)}` : ''}; CPU: ${cpu} = ${busy.toFixed(2)} cores; whole machine ${(r.machine / r.load.seconds).toFixed(2)} of ${os.cpus().length} cores busy (the rest: other processes)`);
        } finally {
          await cluster.stop();
        }
      }
    }
    const best = (n: number) => Math.max(...runs.filter((r) => r.instances === n).map((r) => r.load.perSecond));
    const ratio = best(2) / best(1);
    console.log(`\none instance ${best(1).toFixed(1)}/s, two instances ${best(2).toFixed(1)}/s: ratio ${ratio.toFixed(2)}x (target 1.6x) ${ratio >= 1.6 ? 'MET' : 'NOT MET'}`);
    if (runs.some((r) => r.load.failures)) process.exitCode = 1;
  } finally {
    fs.rmSync(certs, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
