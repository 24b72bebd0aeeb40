/**
 * Enrollment throughput on one PostgreSQL database: one server instance vs two, both behind the same
 * round-robin nginx (so the proxy hop is in both figures). The load is prepared once, untimed, for a
 * CA shared by both setups (same certs directory); each setup gets a fresh database, an untimed
 * warm-up (default 400 requests shared by the instances: each process JIT-compiles its own hot
 * paths, and a short warm-up charges that to the two-instance run), then the timed run at
 * concurrency C. CPU seconds per component (servers, nginx, PostgreSQL, this load generator) during
 * the timed run show what limits the ratio.
 *
 * On a 2-core machine one instance already keeps both cores busy (RSA on worker threads), so a
 * second instance has no CPU to add. `--instance-cpu X` gives each instance its own budget of X
 * cores (a cgroup CPU quota, as if each ran on a host of its own), leaving the rest to nginx,
 * PostgreSQL and the load generator: that asks whether the shared database and the coordination
 * between instances (single-use challenges, unique serials) let throughput grow with instances.
 *
 *   npm run bench:scep-pg -- [--requests N] [--concurrency C] [--warmup W] [--rounds R] [--instance-cpu X]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScepClient, CaCertificates } from '../../src/scep/client/scep-client';
import { pooledKeys } from '../../test/support/keys';
import { startPgCluster, PgCluster } from '../../test/support/pg-cluster';
import { TEST_CHALLENGE } from '../../test/support/test-server';
import { runLoad, LoadResult } from './scep-load';
import { createCpuBudget, CpuBudget } from './cpu-budget';

function opt(name: string, dflt: number, integer = true): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`${name} needs a positive ${integer ? 'integer' : 'number'}`);
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
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
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

interface Run {
  instances: number;
  load: LoadResult;
  cpu: Record<string, number>;
  machine: number;
  throttled?: number;
}

async function measure(c: PgCluster, warm: Buffer[], timed: Buffer[], concurrency: number, budgets: CpuBudget[]): Promise<Run> {
  const url = `${c.url}/scep?operation=PKIOperation`;
  await runLoad(url, warm, concurrency);
  const throttle0 = budgets.map((b) => b.throttled());
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
  // share of scheduler periods in which the quota held an instance back: near 1 means CPU-bound on its budget
  const throttled = budgets.length
    ? budgets
        .map((b, i) => {
          const t = b.throttled();
          return (t.throttled - throttle0[i]!.throttled) / Math.max(1, t.periods - throttle0[i]!.periods);
        })
        .reduce((a, b) => a + b, 0) / budgets.length
    : undefined;
  return { instances: c.instances.length, load, cpu, machine, throttled };
}

async function main(): Promise<void> {
  const requests = opt('--requests', 1000);
  const concurrency = opt('--concurrency', 16);
  const warmup = opt('--warmup', 400);
  const rounds = opt('--rounds', 1);
  const instanceCpu = process.argv.includes('--instance-cpu') ? opt('--instance-cpu', 1, false) : undefined;
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
        const r = await client.preparePkcsReq({
          cas,
          key: keys[i % keys.length]!,
          challenge: TEST_CHALLENGE,
          transactionId: `pgscale-${i}`,
          subject: [{ type: 'CN', value: `pgscale-${i}` }],
        });
        bodies.push(r.der);
      }
    } finally {
      await cluster.stop();
    }
    const warm = bodies.slice(0, warmup);
    const timed = bodies.slice(warmup);
    console.log(
      `cores ${os.cpus().length}; ${requests} timed enrollments (+${warmup} warm-up) at concurrency ${concurrency}, each setup on a fresh PostgreSQL database behind nginx${instanceCpu ? `; each instance limited to ${instanceCpu} core(s) by a cgroup CPU quota` : ''}`,
    );
    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const n of [1, 2]) {
        cluster = await startPgCluster(n, env);
        const budgets: CpuBudget[] = [];
        try {
          if (instanceCpu) {
            for (const inst of cluster.instances) {
              const b = createCpuBudget(`scepter-bench-${process.pid}-${inst.proc.child.pid}`, instanceCpu);
              budgets.push(b);
              b.add(inst.proc.child.pid!);
            }
          }
          const r = await measure(cluster, warm, timed, concurrency, budgets);
          runs.push(r);
          const cpu = Object.entries(r.cpu)
            .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
            .join(', ');
          const busy = Object.values(r.cpu).reduce((a, b) => a + b, 0) / r.load.seconds; // cores kept busy by these components
          console.log(
            `round ${round + 1}, ${n} instance(s): ${r.load.perSecond.toFixed(1)} enrollments/s in ${r.load.seconds.toFixed(1)} s, p50 ${r.load.p50.toFixed(0)} ms, p99 ${r.load.p99.toFixed(0)} ms, failures ${r.load.failures}${r.load.failures ? ` ${JSON.stringify(r.load.failureKinds)}` : ''}; CPU: ${cpu} = ${busy.toFixed(2)} cores; whole machine ${(r.machine / r.load.seconds).toFixed(2)} of ${os.cpus().length} cores busy (the rest: other processes)${r.throttled !== undefined ? `; instances held back by their quota in ${(r.throttled * 100).toFixed(0)}% of periods` : ''}`,
          );
        } finally {
          await cluster.stop();
          for (const b of budgets) b.remove();
        }
      }
    }
    const best = (n: number) => Math.max(...runs.filter((r) => r.instances === n).map((r) => r.load.perSecond));
    const ratio = best(2) / best(1);
    console.log(
      `\none instance ${best(1).toFixed(1)}/s, two instances ${best(2).toFixed(1)}/s: ratio ${ratio.toFixed(2)}x (target 1.6x) ${ratio >= 1.6 ? 'MET' : 'NOT MET'}`,
    );
    if (runs.some((r) => r.load.failures)) process.exitCode = 1;
  } finally {
    fs.rmSync(certs, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
