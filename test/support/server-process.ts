import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const SERVER = path.resolve(__dirname, '../../src/server.js');

export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Every server process still running; killed when the test run exits, so a failed test leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * `node dist/src/server.js` as a separate process (for kill -9 and multi-instance tests).
 * `nodeArgs` go before the script (e.g. `-r` a preload). The HTTPS listener takes any free port
 * unless `env` names one, so servers never collide on 8443.
 */
export async function startServerProcess(env: Record<string, string>, readyTimeoutMs = 30_000, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, SERVER], {
    env: { ...process.env, SCEPTER_LOG_LEVEL: 'warn', SCEPTER_TLS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready: ${out}`)), readyTimeoutMs);
    const onData = () => {
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited ${code}: ${out}`));
    });
  });
  return {
    child,
    output: () => out,
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
