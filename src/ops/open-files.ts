import fs from 'node:fs';
import path from 'node:path';

/**
 * The processes (other than this one) holding a file under `dir` open, from Linux's /proc: a server
 * still running on a home that is about to be replaced would go on writing to deleted files, and
 * everything it answered from then on would be lost. Only processes this user may inspect are seen
 * (all of them for root); elsewhere than Linux the list is empty.
 */
export function processesUsing(dir: string): number[] {
  const root = path.resolve(dir) + path.sep;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith(root)) {
        found.push(Number(pid));
        break;
      }
    }
  }
  return found;
}
