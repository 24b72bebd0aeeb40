/**
 * A fixed CPU budget for one process, as if it ran on a host of its own: a cgroup (v1 `cpu`
 * controller, or v2) with a CFS quota of `cores` per period. Used by bench:scep-pg to ask whether
 * instances scale when each has its own CPU, which a 2-core machine shared by every instance,
 * nginx, PostgreSQL and the load generator cannot show otherwise. Needs root and a writable cgroup
 * hierarchy; throws with the reason when there is none.
 */
import fs from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

interface Hierarchy {
  root: string;
  v2: boolean;
}

function findHierarchy(): Hierarchy {
  const v1 = '/sys/fs/cgroup/cpu';
  if (fs.existsSync(path.join(v1, 'cpu.cfs_quota_us'))) return { root: v1, v2: false };
  const v2 = '/sys/fs/cgroup';
  if (fs.existsSync(path.join(v2, 'cgroup.controllers')) && fs.readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').includes('cpu'))
    return { root: v2, v2: true };
  throw new Error('no writable cgroup cpu controller here (/sys/fs/cgroup/cpu or cgroup v2 with cpu): run without --instance-cpu');
}

export interface CpuBudget {
  /** moves a process, all its threads and the threads it starts later, into the budget */
  add(pid: number): void;
  /** how often the quota held the processes back (periods throttled / periods) */
  throttled(): { periods: number; throttled: number };
  remove(): void;
}

export function createCpuBudget(name: string, cores: number): CpuBudget {
  if (!(cores > 0)) throw new Error('a CPU budget needs a positive number of cores');
  const h = findHierarchy();
  const dir = path.join(h.root, name);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    throw new Error(`cannot create cgroup ${dir}: ${(err as Error).message} (needs root)`);
  }
  const quota = Math.round(cores * PERIOD_US);
  if (h.v2) {
    fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
  } else {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
  }
  const stat = (): Record<string, number> =>
    Object.fromEntries(
      fs
        .readFileSync(path.join(dir, 'cpu.stat'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const [k, v] = l.split(' ');
          return [k!, Number(v)];
        }),
    );
  return {
    add(pid) {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    },
    throttled() {
      const s = stat();
      return { periods: s.nr_periods ?? 0, throttled: s.nr_throttled ?? 0 };
    },
    remove() {
      // the processes have exited by now; a cgroup with live members cannot be removed
      try {
        fs.rmdirSync(dir);
      } catch {
        /* left behind: harmless, an empty cgroup */
      }
    },
  };
}
