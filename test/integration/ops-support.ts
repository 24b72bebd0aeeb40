// Helpers for the operations tests: the real `scepter` CLI and server as child processes in
// scratch homes, with an environment free of the caller's SCEPTER_* settings.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, RunResult } from '../support/proc';
import { startServerProcess, ServerProcess } from '../support/server-process';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'scepter');

/** process.env without any SCEPTER_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCEPTER_')) env[k] = v;
  return { ...env, ...extra };
}

const scratch: string[] = [];
// scratch homes, clones and folders go when the test process ends
process.on('exit', () => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `scepter-${prefix}-`));
  scratch.push(dir);
  return dir;
}

/** `node bin/scepter ...` from `cwd` (default: a fresh empty folder, never the checkout). */
export async function scepter(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<RunResult & { code: number | null }> {
  const cwd = o.cwd ?? scratchDir('cwd');
  const r = await run(process.execPath, [BIN, ...args], { env: cleanEnv(o.env), cwd, timeoutMs: 120_000, input: o.input ?? '' });
  return { ...r, code: r.exitCode };
}

/** `scepter init` of a new home with a 2048-bit CA (fast) and the given extra flags. */
export async function initHome(extra: string[] = [], home = path.join(scratchDir('home'), 'home')): Promise<string> {
  const r = await scepter(['init', '--home', home, '--key-bits', '2048', ...extra]);
  if (r.code !== 0) throw new Error(`scepter init failed (${r.code}): ${r.stdout}${r.stderr}`);
  return home;
}

/** The server as its own process on a home; only SCEPTER_HOME (and `env`) come from outside. */
export function startHomeServer(home: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  // startServerProcess adds process.env: blank the caller's SCEPTER_* (blank counts as unset)
  const cleared = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('SCEPTER_'))
      .map((k) => [k, '']),
  );
  return startServerProcess({ ...cleared, SCEPTER_HOME: home, SCEPTER_TLS_PORT: '0', ...env });
}
