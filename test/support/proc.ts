// Child-process helpers for interop tests: run a command with a hard timeout, and start
// daemons in their own process group so stop() (or the exit hook) kills helpers they forked.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  input?: string | Buffer;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      detached: true, // own group: a timeout also kills grandchildren
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        signal,
        timedOut,
      });
    });
    // a child that exits without reading its input (scep-submit often does) closes the pipe first:
    // EPIPE on our side then means nothing, and unhandled it would crash the test run
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

// Every live daemon and temp dir, so an interrupted test run leaves nothing behind
// (short of SIGKILL, which no hook can see).
const live = new Set<number>();
const dirs = new Set<string>();
let hookInstalled = false;
function cleanUpEverything(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', cleanUpEverything);
  // death by signal skips 'exit'; daemons run in their own group, so they would survive
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanUpEverything();
      // keep the default behaviour (die by that signal) unless someone else handles it
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

export interface Daemon {
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  isRunning(): boolean;
  output(): string; // stdout + stderr so far (for failure messages)
  stop(graceMs?: number): Promise<void>;
}

export function spawnDaemon(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Daemon {
  installExitHook();
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!child.pid) throw new Error(`cannot start ${cmd}`);
  const pid = child.pid;
  live.add(pid);
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (c: Buffer): void => {
    // keep the last ~256 KB only: debug logs can be chatty
    chunks.push(c);
    size += c.length;
    while (size > 256 * 1024 && chunks.length > 1) size -= chunks.shift()!.length;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => {
      running = false;
      live.delete(pid);
      resolve();
    });
  });
  return {
    pid,
    child,
    exited,
    isRunning: () => running,
    output: () => Buffer.concat(chunks).toString('utf8'),
    async stop(graceMs = 3000): Promise<void> {
      // the group may hold helpers (scep-submit) even after the leader exited
      killGroup(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if (running && (await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
        killGroup(pid, 'SIGKILL');
        await exited;
      }
      killGroup(pid, 'SIGKILL');
      live.delete(pid);
    },
  };
}

/** A fresh directory under the OS temp dir, removed at process exit unless `keep`. */
export function makeTempDir(prefix: string, opts: { keep?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  if (!opts.keep) {
    installExitHook();
    dirs.add(dir);
  }
  return dir;
}

export function removeDir(dir: string): void {
  dirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
